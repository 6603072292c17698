// Disk faults: with the process's file-size limit (RLIMIT_FSIZE) below what a file needs, every
// kind of file a run writes (a plain atomic write, a streamed one, a checkpoint, the int8+zstd
// artifact, a token shard) fails with a pg::Error naming the path and the bytes needed, the old
// content of the target survives, and no temporary file is left. The limit gives the kernel's
// EFBIG exactly where a full disk gives ENOSPC, in-process and without root (SIGXFSZ, which
// would otherwise end the process, is ignored for the test).
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <random>

#include "base/atomic_file.h"
#include "frontend/data/shard.h"
#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"
#include "tests/export/export_test_util.h"

namespace pg {
namespace {

using export_test::error_of;
using export_test::read_raw;
using export_test::TempDir;

// The file-size limit lowered to `bytes` for the scope (the soft limit only, so it can be raised
// back), with SIGXFSZ ignored.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = saved_;
        lowered.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        std::signal(SIGXFSZ, previous_handler_);
    }

private:
    rlimit saved_{};
    void (*previous_handler_)(int) = nullptr;
};

constexpr rlim_t kLimit = 64 * 1024;

// Runs `write` under the limit, then checks the error and that `target` kept `old` and nothing
// else appeared in `dir`.
void check_full_disk_write(const TempDir& dir, const std::filesystem::path& target, const std::string& bytes_text,
                           const std::function<void()>& write) {
    const std::string old = "old complete content";
    export_test::write_raw(target, old);
    std::string msg;
    {
        FileSizeLimit limit(kLimit);
        msg = error_of(write);
    }
    INFO(msg);
    CHECK(msg.find(target.string()) != std::string::npos);
    CHECK(msg.find(bytes_text) != std::string::npos);
    CHECK(msg.find("File too large") != std::string::npos);
    CHECK(read_raw(target) == old);
    CHECK(dir.entries() == std::vector<std::string>{target.filename().string()});
}

HostTensor noise(Shape shape, uint32_t seed) {
    std::mt19937 rng(seed);
    return export_test::random_tensor(DType::f32, std::move(shape), rng);
}

}  // namespace

TEST_CASE("disk full: atomic writes of every kind fail cleanly, naming the path and the bytes needed") {
    TempDir dir;
    SUBCASE("a write of known size names all the bytes it needs") {
        std::string big(300'000, 'x');
        check_full_disk_write(dir, dir / "blob.bin", "needs 300000 bytes",
                              [&] { io::write_file_atomically(dir / "blob.bin", big); });
    }
    SUBCASE("a streamed write names at least the bytes asked for so far") {
        check_full_disk_write(dir, dir / "stream.bin", "needs at least", [&] {
            io::write_file_atomically(dir / "stream.bin", [](io::AtomicFile& f) {
                for (int i = 0; i < 100; ++i) f.write(std::string(10'000, 'y'));
            });
        });
    }
    SUBCASE("a checkpoint") {
        io::Checkpoint c;
        c.tensors.emplace("w", noise({256, 256}, 1));
        c.set_int(io::kStepKey, 3);
        check_full_disk_write(dir, dir / "model.ckpt", "bytes", [&] { io::save_checkpoint(dir / "model.ckpt", c); });
    }
    SUBCASE("the int8+zstd artifact") {
        io::QuantizedModel q = io::quantize_int8({{"blocks.0.w", noise({512, 512}, 2)}});
        check_full_disk_write(dir, dir / "model.int8.zst", "bytes",
                              [&] { io::save_artifact(dir / "model.int8.zst", q); });
    }
    SUBCASE("a token shard") {
        std::vector<uint16_t> tokens(100'000);
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<uint16_t>(i % 1000);
        check_full_disk_write(dir, dir / "fineweb_train_000000.bin", "bytes",
                              [&] { data::write_shard(dir / "fineweb_train_000000.bin", tokens); });
    }
}

}  // namespace pg
