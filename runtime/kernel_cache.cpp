// The in-memory and on-disk kernel cache (see kernel_cache.h).
//
// Disk entry layout (little-endian):
//   0   4  magic "PGKC"
//   4   4  format version (kKernelKeyFormat)
//   8  64  key digest (hex)
//   72  8  uncompressed size
//   80  8  checksum64 of the uncompressed binary
//   88  .. zstd frame
#include "runtime/kernel_cache.h"

#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/digest.h"
#include "base/env.h"
#include "base/error.h"
#include "codegen/kernel_key.h"

namespace pg {

PG_KNOB({.name = "PG_CACHE_DIR",
         .kind = env::KnobKind::String,
         .default_value = "",
         .doc = "directory of the compiled-kernel cache (\"\" = $XDG_CACHE_HOME/pgolf or ~/.cache/pgolf, "
                "off = no disk cache)"});

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[4] = {'P', 'G', 'K', 'C'};
constexpr size_t kDigestLen = 64;
constexpr size_t kHeaderSize = 4 + 4 + kDigestLen + 8 + 8;
// Object files of single kernels are KBs; anything claiming more than 1 GiB is corrupt, and
// refusing it avoids a giant allocation driven by a garbage header.
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 30;
// zstd level for cache entries: level 3 compresses object code ~3x at >100 MB/s; the slow high
// levels (22 is for artifacts) would cost more than they save on a per-compile path.
constexpr int kZstdLevel = 3;

void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_le(const std::string& s, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
}

bool read_whole_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return false;
    out = std::move(ss).str();
    return true;
}

// Validates and decodes one entry; returns "" on success or the reason it was rejected.
std::string decode_entry(const std::string& file, const std::string& digest, std::string& binary) {
    if (file.size() < kHeaderSize) return "truncated header";
    if (std::memcmp(file.data(), kMagic, 4) != 0) return "bad magic";
    if (get_le(file, 4, 4) != static_cast<uint64_t>(kKernelKeyFormat)) return "other format version";
    if (file.compare(8, kDigestLen, digest) != 0) return "digest mismatch";
    uint64_t size = get_le(file, 8 + kDigestLen, 8);
    uint64_t checksum = get_le(file, 16 + kDigestLen, 8);
    if (size > kMaxEntryBytes) return "implausible size";
    binary.resize(size);
    size_t got = ZSTD_decompress(binary.data(), binary.size(), file.data() + kHeaderSize, file.size() - kHeaderSize);
    if (ZSTD_isError(got)) return std::string("zstd: ") + ZSTD_getErrorName(got);
    if (got != size) return "size mismatch";
    if (checksum64(binary) != checksum) return "checksum mismatch";
    return "";
}

std::string encode_entry(const std::string& digest, std::string_view binary) {
    std::string out;
    out.append(kMagic, 4);
    put_u32(out, static_cast<uint32_t>(kKernelKeyFormat));
    out += digest;
    put_u64(out, binary.size());
    put_u64(out, checksum64(binary));
    size_t bound = ZSTD_compressBound(binary.size());
    out.resize(kHeaderSize + bound);
    size_t n = ZSTD_compress(out.data() + kHeaderSize, bound, binary.data(), binary.size(), kZstdLevel);
    PG_ASSERT(!ZSTD_isError(n), "zstd compression failed: {}", ZSTD_getErrorName(n));
    out.resize(kHeaderSize + n);
    return out;
}

// A temporary name unique across processes (pid) and threads (counter).

}  // namespace

KernelCache& KernelCache::global() {
    static KernelCache cache;
    return cache;
}

std::string KernelCache::directory() {
    std::string v = env::get("PG_CACHE_DIR");
    if (v == "off") return "";
    if (!v.empty()) return v;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/pgolf";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/pgolf";
    return "";
}

std::string KernelCache::entry_path(const std::string& dir, const std::string& digest) {
    PG_ASSERT(digest.size() == kDigestLen, "a kernel digest has {} hex characters, got '{}'", kDigestLen, digest);
    return fmt::format("{}/{}/{}.pgk", dir, digest.substr(0, 2), digest);
}

CacheLookup KernelCache::get(const std::string& digest) {
    {
        std::lock_guard lock(mu_);
        auto it = memory_.find(digest);
        if (it != memory_.end()) {
            ++stats_.memory_hits;
            return {it->second, CacheSource::Memory};
        }
    }
    std::string dir = directory();
    std::shared_ptr<const std::string> binary = dir.empty() ? nullptr : read_disk(dir, digest);
    std::lock_guard lock(mu_);
    if (!binary) {
        ++stats_.misses;
        return {};
    }
    ++stats_.disk_hits;
    memory_.emplace(digest, binary);
    return {binary, CacheSource::Disk};
}

void KernelCache::put(const std::string& digest, std::string_view binary) {
    auto shared = std::make_shared<const std::string>(binary);
    {
        std::lock_guard lock(mu_);
        memory_[digest] = shared;
    }
    std::string dir = directory();
    if (!dir.empty()) write_disk(dir, digest, binary);
}

void KernelCache::clear_memory() {
    std::lock_guard lock(mu_);
    memory_.clear();
}

KernelCacheStats KernelCache::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

std::shared_ptr<const std::string> KernelCache::read_disk(const std::string& dir, const std::string& digest) {
    std::string path = entry_path(dir, digest);
    std::string file;
    if (!read_whole_file(path, file)) return nullptr;  // absent: a plain miss
    auto binary = std::make_shared<std::string>();
    std::string reason = decode_entry(file, digest, *binary);
    if (reason.empty()) return binary;
    {
        std::lock_guard lock(mu_);
        ++stats_.rejected;
    }
    if (env::get_bool("PG_DEBUG")) fmt::print(stderr, "[pgolf] kernel cache: ignoring {} ({})\n", path, reason);
    return nullptr;
}

void KernelCache::write_disk(const std::string& dir, const std::string& digest, std::string_view binary) {
    std::string path = entry_path(dir, digest);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    try {
        PG_CHECK(!ec, "cannot create {}: {}", fs::path(path).parent_path().string(), ec.message());
        io::write_file_atomically(path, encode_entry(digest, binary), io::Durability::Atomic);
    } catch (const Error& e) {
        std::lock_guard lock(mu_);
        if (!warned_)
            fmt::print(stderr, "[pgolf] warning: cannot write the kernel cache at {} ({}): kernels will be recompiled "
                               "next run (set PG_CACHE_DIR to a writable directory, or PG_CACHE_DIR=off)\n", dir,
                       e.what());
        warned_ = true;
        return;
    }
    std::lock_guard lock(mu_);
    ++stats_.writes;
}

}  // namespace pg
