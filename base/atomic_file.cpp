// AtomicFile: temporary file + fsync + rename, with every failure reported as a pg::Error that
// names the target file and the system's reason.
#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.h"

namespace pg::io {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

fs::path parent_dir(const fs::path& target) {
    fs::path parent = target.parent_path();
    return parent.empty() ? fs::path(".") : parent;
}

// A name beside the target that no other writer (thread or process) uses at the same time.
fs::path temp_name(const fs::path& target, unsigned attempt) {
    static std::atomic<unsigned> counter{0};
    const unsigned n = counter.fetch_add(1, std::memory_order_relaxed);
    return parent_dir(target) /
           ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n) +
            "-" + std::to_string(attempt));
}

// Bytes available to us on the file system holding `dir`, or -1 when unknown.
int64_t free_bytes(const fs::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return -1;
    return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

bool is_out_of_space(int err) { return err == ENOSPC || err == EFBIG || err == EDQUOT; }

// Makes the rename durable. Best effort: some file systems (e.g. some network mounts) refuse
// fsync on a directory with EINVAL, and the data itself is already on disk at this point.
void sync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(fs::path target, Durability durability)
    : target_(std::move(target)), durability_(durability) {
    PG_CHECK(!target_.empty() && !target_.filename().empty(),
             "cannot write '{}': the path names no file; give a file path such as run/final_model.ckpt",
             target_.string());
    std::error_code ec;
    PG_CHECK(!fs::is_directory(target_, ec), "cannot write {}: it is a directory; give a file path inside it",
             target_.string());
    for (unsigned attempt = 0; fd_ < 0; ++attempt) {
        temp_ = temp_name(target_, attempt);
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ >= 0) break;
        const int err = errno;
        if (err == EEXIST && attempt < 100) continue;  // a stale temp file of a crashed run with our pid
        temp_.clear();
        throw Error(fmt::format("cannot write {}: creating a temporary file in {} failed ({}); check that the "
                                "directory exists, is a directory and is writable",
                                target_.string(), parent_dir(target_).string(), errno_text(err)));
    }
}

AtomicFile::~AtomicFile() {
    if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!temp_.empty()) {
        ::unlink(temp_.c_str());
        temp_.clear();
    }
}

void AtomicFile::fail(const std::string& what, int err, size_t needed) {
    discard();
    if (is_out_of_space(err)) {
        int64_t free = free_bytes(parent_dir(target_));
        throw Error(fmt::format("cannot write {}: {} ({}); the file needs {}{} bytes and its file system has {} free "
                                "(or a file-size limit is lower); free some space or write to another disk",
                                target_.string(), what, errno_text(err), reserved_ > 0 ? "" : "at least ", needed,
                                free < 0 ? std::string("unknown bytes") : fmt::format("{} bytes", free)));
    }
    throw Error(fmt::format("cannot write {}: {} ({}); check free disk space and permissions", target_.string(), what,
                            errno_text(err)));
}

void AtomicFile::reserve(size_t total) {
    PG_CHECK(fd_ >= 0 && !committed_, "cannot write {}: the file was already committed or failed", target_.string());
    if (total == 0) return;
    reserved_ = total;  // the size is known from here on, whether or not preallocation works
    const int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(total));
    if (err == EOPNOTSUPP || err == EINVAL) return;  // no preallocation here: writes will tell
    if (err != 0) fail(fmt::format("reserving {} bytes failed", total), err, total);
}

void AtomicFile::write(const void* data, size_t size) {
    PG_CHECK(fd_ >= 0 && !committed_, "cannot write {}: the file was already committed or failed", target_.string());
    const auto* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        const size_t chunk = left < (size_t{1} << 30) ? left : (size_t{1} << 30);
        const ssize_t n = ::write(fd_, p, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : ENOSPC;  // a zero-byte write of a non-empty chunk: no room
            fail(fmt::format("writing {} bytes failed after {} bytes", size, written_), err,
                 std::max(reserved_, written_ + left));
        }
        p += n;
        left -= static_cast<size_t>(n);
        written_ += static_cast<size_t>(n);
    }
}

void AtomicFile::commit() {
    PG_CHECK(fd_ >= 0 && !committed_, "cannot commit {}: the file was already committed or failed", target_.string());
    if (reserved_ > written_ && ::ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
        const int err = errno;
        fail("dropping the unused reservation failed", err, written_);
    }
    if (durability_ == Durability::Durable && ::fsync(fd_) != 0) {
        const int err = errno;
        fail("fsync failed", err, written_);
    }
    const int close_rc = ::close(fd_);
    const int close_err = errno;
    fd_ = -1;
    if (close_rc != 0) fail("close failed", close_err, written_);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
        const int err = errno;
        discard();
        throw Error(fmt::format("cannot write {}: renaming the temporary file over it failed ({}); check that "
                                "the target is not a directory and the directory is writable",
                                target_.string(), errno_text(err)));
    }
    temp_.clear();
    committed_ = true;
    if (durability_ == Durability::Durable) sync_directory(parent_dir(target_));
}

void write_file_atomically(const fs::path& path, std::string_view bytes, Durability durability) {
    AtomicFile f(path, durability);
    f.reserve(bytes.size());
    f.write(bytes);
    f.commit();
}

void write_file_atomically(const fs::path& path, const std::function<void(AtomicFile&)>& produce,
                           size_t expected_bytes) {
    AtomicFile f(path);
    f.reserve(expected_bytes);
    produce(f);
    f.commit();
}

}  // namespace pg::io
