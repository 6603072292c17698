// Shard reading (mmap + validation), atomic shard writing and split listing (see shard.h).
#include "frontend/data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::data {

// The format is little-endian and we read it in place.
static_assert(std::endian::native == std::endian::little, "token shards are read in place: little-endian hosts only");

namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes a file descriptor on scope exit.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Shard Shard::open(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    PG_CHECK(fd >= 0, "cannot open token shard {}: {}", path.string(), errno_text());
    FdCloser closer{fd};
    struct stat st {};
    PG_CHECK(::fstat(fd, &st) == 0, "cannot stat token shard {}: {}", path.string(), errno_text());
    PG_CHECK(S_ISREG(st.st_mode), "token shard {} is not a regular file", path.string());
    const int64_t size = st.st_size;
    PG_CHECK(size >= kShardHeaderBytes,
             "token shard {} is truncated: {} bytes, shorter than the {}-byte header; re-create or "
             "re-download it",
             path.string(), size, kShardHeaderBytes);

    Shard shard;
    shard.path_ = path;
    shard.map_bytes_ = static_cast<size_t>(size);
    void* map = ::mmap(nullptr, shard.map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
    PG_CHECK(map != MAP_FAILED, "cannot map token shard {}: {}", path.string(), errno_text());
    shard.map_ = map;

    std::array<int32_t, 3> h{};
    std::memcpy(h.data(), map, sizeof(h));
    PG_CHECK(h[0] == kShardMagic,
             "{} is not a token shard: header magic is {}, expected {} (the challenge's .bin format)",
             path.string(), h[0], kShardMagic);
    PG_CHECK(h[1] == kShardVersion, "token shard {} has format version {}; pgolf reads version {}",
             path.string(), h[1], kShardVersion);
    PG_CHECK(h[2] >= 0, "token shard {} declares a negative token count {}", path.string(), h[2]);
    const int64_t expected = kShardHeaderBytes + 2 * static_cast<int64_t>(h[2]);
    PG_CHECK(size >= expected,
             "token shard {} is truncated: its header declares {} tokens ({} bytes) but the file has "
             "{} bytes; re-create or re-download it",
             path.string(), h[2], expected, size);
    PG_CHECK(size == expected,
             "token shard {} has {} bytes but its header declares {} tokens ({} bytes): size "
             "mismatch, the file is corrupt",
             path.string(), size, h[2], expected);
    shard.num_tokens_ = h[2];
    shard.tokens_ = reinterpret_cast<const uint16_t*>(static_cast<const char*>(map) + kShardHeaderBytes);
    if (shard.num_tokens_ > 0) ::madvise(map, shard.map_bytes_, MADV_SEQUENTIAL);
    return shard;
}

Shard::Shard(Shard&& other) noexcept { *this = std::move(other); }

Shard& Shard::operator=(Shard&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        map_ = std::exchange(other.map_, nullptr);
        map_bytes_ = std::exchange(other.map_bytes_, 0);
        tokens_ = std::exchange(other.tokens_, nullptr);
        num_tokens_ = std::exchange(other.num_tokens_, 0);
    }
    return *this;
}

Shard::~Shard() { release(); }

void Shard::release() {
    if (map_) ::munmap(map_, map_bytes_);
    map_ = nullptr;
    tokens_ = nullptr;
    num_tokens_ = 0;
}

void write_shard(const std::filesystem::path& path, std::span<const uint16_t> tokens) {
    PG_CHECK(static_cast<int64_t>(tokens.size()) <= kMaxShardTokens,
             "cannot write {}: {} tokens exceed the shard format's limit of {}", path.string(),
             tokens.size(), kMaxShardTokens);
    std::array<int32_t, kShardHeaderInts> header{};
    header[0] = kShardMagic;
    header[1] = kShardVersion;
    header[2] = static_cast<int32_t>(tokens.size());
    io::write_file_atomically(path, [&](io::AtomicFile& out) {
        out.write(header.data(), kShardHeaderBytes);
        out.write(tokens.data(), tokens.size() * 2);
    });
}

std::string shard_file_name(std::string_view split, int64_t index) {
    return fmt::format("fineweb_{}_{:06d}.bin", split, index);
}

std::vector<std::filesystem::path> find_shards(const std::filesystem::path& dir, std::string_view split) {
    std::error_code ec;
    PG_CHECK(std::filesystem::is_directory(dir, ec),
             "dataset directory {} does not exist; set DATA_PATH to a folder of fineweb_{}_*.bin shards "
             "(`pgolf prepare` writes one)",
             dir.string(), split);
    const std::string prefix = fmt::format("fineweb_{}_", split);
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0 || name.size() < prefix.size() + 4) continue;
        if (name.compare(name.size() - 4, 4, ".bin") != 0) continue;
        if (name.find("_bytes_") != std::string::npos) continue;  // CaseOps byte sidecar
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
    PG_CHECK(!files.empty(), "no {}*.bin shards in {}; set DATA_PATH to a dataset folder (`pgolf prepare` writes one)",
             prefix, dir.string());
    return files;
}

void check_token_range(std::span<const uint16_t> tokens, int64_t vocab_size, std::string_view what) {
    for (size_t i = 0; i < tokens.size(); ++i) {
        PG_CHECK(tokens[i] < vocab_size,
                 "{}: token id {} at position {} is outside the vocabulary (VOCAB_SIZE={}); the data was "
                 "made with a different tokenizer",
                 what, tokens[i], i, vocab_size);
    }
}

ShardSetWriter::ShardSetWriter(std::filesystem::path dir, std::string split, int64_t shard_tokens)
    : dir_(std::move(dir)), split_(std::move(split)), shard_tokens_(shard_tokens) {
    PG_CHECK(shard_tokens_ >= 1 && shard_tokens_ <= kMaxShardTokens,
             "shard size {} must be between 1 and {} tokens", shard_tokens_, kMaxShardTokens);
}

void ShardSetWriter::append(std::span<const uint16_t> tokens) {
    while (!tokens.empty()) {
        const size_t room = static_cast<size_t>(shard_tokens_) - buffer_.size();
        const size_t take = std::min(room, tokens.size());
        buffer_.insert(buffer_.end(), tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(take));
        tokens = tokens.subspan(take);
        total_tokens_ += static_cast<int64_t>(take);
        if (static_cast<int64_t>(buffer_.size()) == shard_tokens_) flush();
    }
}

void ShardSetWriter::flush() {
    if (buffer_.empty()) return;
    std::filesystem::path path = dir_ / shard_file_name(split_, static_cast<int64_t>(files_.size()));
    write_shard(path, buffer_);
    files_.push_back(std::move(path));
    buffer_.clear();
}

}  // namespace pg::data
