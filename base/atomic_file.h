// AtomicFile: writes a file so that readers see either the old content or the complete new one,
// never a half-written file. Data goes to a temporary file beside the target, which is fsync'ed
// and renamed over the target on commit(); a failure (or destruction without commit) removes the
// temporary file. Checkpoints, safetensors exports and artifacts are all written this way, so a
// run killed mid-save never leaves a truncated final_model.* behind.
//
// A full disk (ENOSPC) or a file-size limit (EFBIG) is reported as a pg::Error naming the target,
// the bytes it needs (all of them when the size is known up front, else at least what was asked
// for so far) and the bytes free on its file system; the temporary file is removed, so a full disk
// leaves the target as it was.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace pg::io {

// Durable: fsync the data and the directory (checkpoints, artifacts, shards: must survive a
// crash). Atomic: rename only, no fsync (kernel cache entries and dumps: readers must never see
// half a file, but losing one to a power cut costs a recompile, while an fsync per entry costs
// ~1-10 ms on a real disk, times hundreds of kernels).
enum class Durability { Durable, Atomic };

class AtomicFile {
public:
    // Creates the temporary file in the target's directory. Throws pg::Error naming the target
    // when the directory does not exist, is not writable, or the parent path is a file.
    explicit AtomicFile(std::filesystem::path target, Durability durability = Durability::Durable);
    ~AtomicFile();  // removes the temporary file unless commit() succeeded
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // Reserves `total` bytes on disk before anything is written (posix_fallocate), so that a full
    // disk is found at once and the error can name the whole size; file systems without
    // preallocation skip it.
    void reserve(size_t total);

    // Appends bytes; throws pg::Error naming the target on a short write (disk full, I/O error).
    void write(const void* data, size_t size);
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

    // fsyncs the data, renames the temporary file over the target and fsyncs the directory so the
    // rename survives a crash. Throws pg::Error naming the target on failure.
    void commit();

    size_t bytes_written() const { return written_; }
    const std::filesystem::path& target() const { return target_; }

private:
    void discard() noexcept;
    [[noreturn]] void fail(const std::string& what, int err, size_t needed);  // discards, then throws

    std::filesystem::path target_;
    std::filesystem::path temp_;
    int fd_ = -1;
    size_t written_ = 0, reserved_ = 0;
    bool committed_ = false;
    Durability durability_;
};

// Writes `bytes` to `path` atomically (see AtomicFile).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                           Durability durability = Durability::Durable);

// Writes `path` atomically with content produced by `produce`, which appends to the AtomicFile;
// if `produce` throws, the target is left as it was and the exception propagates. With
// `expected_bytes` (> 0) the space is reserved first (see AtomicFile::reserve).
void write_file_atomically(const std::filesystem::path& path, const std::function<void(AtomicFile&)>& produce,
                           size_t expected_bytes = 0);

}  // namespace pg::io
