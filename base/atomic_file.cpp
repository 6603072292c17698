// AtomicFile: temporary file + fsync + rename, with every failure reported as a pg::Error that
// names the target file and the system's reason.
#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

void AtomicFile::write(const void* data, size_t size) {
    PG_CHECK(fd_ >= 0 && !committed_, "cannot write {}: the file was already committed or failed", target_.string());
    const auto* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        const size_t chunk = left < (size_t{1} << 30) ? left : (size_t{1} << 30);
        const ssize_t n = ::write(fd_, p, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            discard();
            throw Error(fmt::format("cannot write {}: writing {} bytes failed after {} bytes ({}); check free disk "
                                    "space and permissions",
                                    target_.string(), size, written_, errno_text(err)));
        }
        p += n;
        left -= static_cast<size_t>(n);
        written_ += static_cast<size_t>(n);
    }
}

void AtomicFile::commit() {
    PG_CHECK(fd_ >= 0 && !committed_, "cannot commit {}: the file was already committed or failed", target_.string());
    if (durability_ == Durability::Durable && ::fsync(fd_) != 0) {
        const int err = errno;
        discard();
        throw Error(fmt::format("cannot write {}: fsync failed ({}); check free disk space", target_.string(),
                                errno_text(err)));
    }
    const int close_rc = ::close(fd_);
    fd_ = -1;
    if (close_rc != 0) {
        const int err = errno;
        discard();
        throw Error(fmt::format("cannot write {}: close failed ({})", target_.string(), errno_text(err)));
    }
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
    f.write(bytes);
    f.commit();
}

void write_file_atomically(const fs::path& path, const std::function<void(AtomicFile&)>& produce) {
    AtomicFile f(path);
    produce(f);
    f.commit();
}

}  // namespace pg::io
