// The kernel cache: compiled kernel binaries (object code, cubins) keyed by KernelKey::digest(),
// kept in memory for the life of the process and on disk across processes. Disk entries are
// zstd-compressed behind a small header (magic, format version, key digest, uncompressed size,
// checksum) and written to a temporary file that is atomically renamed into place, so that
// concurrent processes never see half an entry. A corrupt, truncated or mismatched entry is
// ignored (and replaced by the next put).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pg {

enum class CacheSource { Miss, Memory, Disk };

struct CacheLookup {
    std::shared_ptr<const std::string> binary;  // null on a miss
    CacheSource source = CacheSource::Miss;
    explicit operator bool() const { return binary != nullptr; }
};

struct KernelCacheStats {
    int64_t memory_hits = 0, disk_hits = 0, misses = 0, writes = 0;
    int64_t rejected = 0;  // disk entries found corrupt, truncated or for another key
};

class KernelCache {
public:
    static KernelCache& global();

    // The on-disk directory for the current PG_CACHE_DIR: the knob's value, or by default
    // $XDG_CACHE_HOME/pgolf, else $HOME/.cache/pgolf; "" when PG_CACHE_DIR=off (or no default
    // location exists). Read on every call, so a ScopedOverride takes effect at once.
    static std::string directory();

    // Where the entry for `digest` lives in `dir`.
    static std::string entry_path(const std::string& dir, const std::string& digest);

    // The memory cache first, then the disk cache (a disk hit is kept in memory).
    CacheLookup get(const std::string& digest);

    // Stores in memory and, when a directory is configured, on disk. A failure to write the disk
    // cache (read-only or full disk) prints one warning and is otherwise ignored: the cache is an
    // optimisation, never a reason to fail a compile.
    void put(const std::string& digest, std::string_view binary);

    // Forgets the in-memory entries (tests use this to exercise the disk path).
    void clear_memory();

    KernelCacheStats stats() const;

private:
    std::shared_ptr<const std::string> read_disk(const std::string& dir, const std::string& digest);
    void write_disk(const std::string& dir, const std::string& digest, std::string_view binary);

    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<const std::string>> memory_;
    KernelCacheStats stats_;
    bool warned_ = false;
};

}  // namespace pg
