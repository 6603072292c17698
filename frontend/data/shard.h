// Token shards in the challenge's .bin format (spec 1.2): a 1024-byte header of 256 little-endian
// int32 (magic 20240520, version 1, token count N, then zeros) followed by N little-endian uint16
// token ids. Shard is a validated read-only memory map of one file; write_shard and ShardSetWriter
// write files that the challenge's own scripts load unchanged; find_shards lists a split's files
// the way the challenge globs them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pg::data {

inline constexpr int32_t kShardMagic = 20240520;
inline constexpr int32_t kShardVersion = 1;
inline constexpr int64_t kShardHeaderInts = 256;
inline constexpr int64_t kShardHeaderBytes = kShardHeaderInts * 4;
// The challenge's main pipeline writes 10^8 tokens per shard (SHARD_SIZE); the last one is short.
inline constexpr int64_t kDefaultShardTokens = 100'000'000;
// The header stores N as int32.
inline constexpr int64_t kMaxShardTokens = INT32_MAX;

// A read-only view of one shard file. Opening checks the header (magic, version, a non-negative
// count) and that the file size is exactly 1024 + 2N; any mismatch throws pg::Error naming the
// file and what is wrong. Movable, not copyable; the mapping lives as long as the object.
class Shard {
public:
    static Shard open(const std::filesystem::path& path);

    Shard(Shard&& other) noexcept;
    Shard& operator=(Shard&& other) noexcept;
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;
    ~Shard();

    const std::filesystem::path& path() const { return path_; }
    int64_t num_tokens() const { return num_tokens_; }
    std::span<const uint16_t> tokens() const { return {tokens_, static_cast<size_t>(num_tokens_)}; }

private:
    Shard() = default;
    void release();

    std::filesystem::path path_;
    void* map_ = nullptr;
    size_t map_bytes_ = 0;
    const uint16_t* tokens_ = nullptr;
    int64_t num_tokens_ = 0;
};

// Writes one shard atomically: to a temporary file beside `path`, then renamed over it.
void write_shard(const std::filesystem::path& path, std::span<const uint16_t> tokens);

// The challenge's file name of shard `index` of a split: fineweb_<split>_<index, 6 digits>.bin.
// (The "fineweb_" prefix is kept for every corpus so that train_gpt.py's globs find our shards.)
std::string shard_file_name(std::string_view split, int64_t index);

// The shards of `split` ("train" or "val") in a dataset directory: files matching
// fineweb_<split>_*.bin, sorted lexicographically, without CaseOps byte sidecars (names containing
// "_bytes_"). Throws pg::Error when the directory is missing or holds no such shard.
std::vector<std::filesystem::path> find_shards(const std::filesystem::path& dir, std::string_view split);

// Throws pg::Error naming `what` and the position when a token id is >= vocab_size.
void check_token_range(std::span<const uint16_t> tokens, int64_t vocab_size, std::string_view what);

// Streams a split into consecutive shards of at most `shard_tokens` tokens each, written as
// fineweb_<split>_000000.bin, 000001, ... in `dir`.
class ShardSetWriter {
public:
    ShardSetWriter(std::filesystem::path dir, std::string split, int64_t shard_tokens = kDefaultShardTokens);

    void append(std::span<const uint16_t> tokens);
    // Writes the pending partial shard (if any). Called before switching splits and at the end.
    void flush();

    int64_t tokens_written() const { return total_tokens_; }
    const std::vector<std::filesystem::path>& files() const { return files_; }

private:
    std::filesystem::path dir_;
    std::string split_;
    int64_t shard_tokens_;
    std::vector<uint16_t> buffer_;
    std::vector<std::filesystem::path> files_;
    int64_t total_tokens_ = 0;
};

}  // namespace pg::data
