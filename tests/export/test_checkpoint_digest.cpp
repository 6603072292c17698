// The checkpoint's content digest: written by save_checkpoint, checked and removed by
// load_checkpoint; one flipped bit in a tensor or a changed metadata value makes the file
// refused as corrupt, naming it; a checkpoint written before digests existed still loads; the
// digest key is reserved.
#include <doctest/doctest.h>

#include <random>

#include "frontend/export/checkpoint.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

Checkpoint small_checkpoint() {
    std::mt19937 rng(5);
    Checkpoint c;
    c.tensors.emplace("blocks.0.w", random_tensor(DType::f32, {8, 16}, rng));
    c.tensors.emplace("blocks.0.w.exp_avg", random_tensor(DType::f32, {8, 16}, rng));
    c.set_int(kStepKey, 7);
    return c;
}

// Replaces the first `from` in the file's bytes by `to` (same length).
void patch(const std::filesystem::path& path, const std::string& from, const std::string& to) {
    std::string bytes = read_raw(path);
    size_t at = bytes.find(from);
    REQUIRE(at != std::string::npos);
    bytes.replace(at, from.size(), to);
    write_raw(path, bytes);
}

}  // namespace

TEST_CASE("checkpoint digest: verified on load; a damaged tensor or metadata value is refused") {
    TempDir dir;
    const auto path = dir / "a.ckpt";
    save_checkpoint(path, small_checkpoint());
    Checkpoint back = load_checkpoint(path);
    CHECK(!back.has(kDigestKey));
    CHECK(back.get_int(kStepKey) == 7);
    CHECK(checkpoint_digest(back.tensors, {}) != checkpoint_digest(small_checkpoint().tensors, {{"x", "y"}}));

    std::string bytes = read_raw(path);
    bytes[bytes.size() - 5] ^= 0x01;  // one bit of the last tensor's data
    write_raw(path, bytes);
    std::string msg = error_of([&] { load_checkpoint(path); });
    CHECK(msg.find(path.string()) != std::string::npos);
    CHECK(msg.find("is corrupt") != std::string::npos);

    save_checkpoint(path, small_checkpoint());
    patch(path, "\"step\":\"7\"", "\"step\":\"8\"");
    CHECK(error_of([&] { load_checkpoint(path); }).find("is corrupt") != std::string::npos);
}

TEST_CASE("checkpoint digest: a checkpoint without one loads; the key is reserved") {
    TempDir dir;
    Checkpoint c = small_checkpoint();
    MetaMap meta = c.meta;
    meta[std::string(kFormatKey)] = std::string(kFormatValue);
    write_safetensors(dir / "old.ckpt", c.tensors, meta);
    CHECK(load_checkpoint(dir / "old.ckpt").get_int(kStepKey) == 7);

    c.set(kDigestKey, "0");
    CHECK(error_of([&] { save_checkpoint(dir / "b.ckpt", c); }).find("reserved") != std::string::npos);
}
