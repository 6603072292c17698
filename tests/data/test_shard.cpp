// Shard format tests: round trip, split writer, listing, and a clear error naming the file for
// each kind of damage (wrong magic, wrong version, truncated header, truncated payload, size
// mismatch). A NumPy check reads our shard the way the challenge's loader does.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <array>
#include <cstring>

#include "base/error.h"
#include "frontend/data/shard.h"
#include "tests/data/data_test_util.h"

using namespace pg;
using namespace pg::data;

namespace {

std::string header_bytes(int32_t magic, int32_t version, int32_t count) {
    std::array<int32_t, 256> h{};
    h[0] = magic;
    h[1] = version;
    h[2] = count;
    return std::string(reinterpret_cast<const char*>(h.data()), 1024);
}

std::string payload(int n) {
    std::string p(static_cast<size_t>(2 * n), '\0');
    for (int i = 0; i < n; ++i) {
        const auto v = static_cast<uint16_t>(i * 7);
        std::memcpy(p.data() + 2 * i, &v, 2);
    }
    return p;
}

// The pg::Error message of opening `path`, or "" when it opens.
std::string open_error(const std::filesystem::path& path) {
    try {
        Shard::open(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("data: shard round trip") {
    test::TempDir dir;
    std::vector<uint16_t> tokens = {1, 0, 65535, 42, 1023, 7};
    write_shard(dir / "a.bin", tokens);
    Shard s = Shard::open(dir / "a.bin");
    CHECK(s.num_tokens() == 6);
    CHECK(std::vector<uint16_t>(s.tokens().begin(), s.tokens().end()) == tokens);
    CHECK(std::filesystem::file_size(dir / "a.bin") == 1024 + 12);

    // The header is 256 little-endian int32: magic, version, count, then zeros.
    const std::string bytes = test::read_file(dir / "a.bin");
    CHECK(bytes.substr(0, 1024) == header_bytes(20240520, 1, 6));

    // An empty shard is valid; no temporary files are left behind.
    write_shard(dir / "empty.bin", {});
    CHECK(Shard::open(dir / "empty.bin").num_tokens() == 0);
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
    CHECK(files == 2);

    // Moving keeps the mapping alive.
    Shard moved = std::move(s);
    CHECK(moved.tokens()[2] == 65535);
}

TEST_CASE("data: shard set writer splits, names and lists shards like the challenge") {
    test::TempDir dir;
    ShardSetWriter writer(dir.path(), "train", 4);
    std::vector<uint16_t> all;
    for (uint16_t i = 0; i < 10; ++i) {
        const std::vector<uint16_t> piece = {i, static_cast<uint16_t>(i + 100)};
        all.insert(all.end(), piece.begin(), piece.end());
        writer.append(piece);
    }
    writer.flush();
    REQUIRE(writer.files().size() == 5);
    CHECK(writer.tokens_written() == 20);
    CHECK(writer.files()[0].filename() == "fineweb_train_000000.bin");
    CHECK(writer.files()[4].filename() == "fineweb_train_000004.bin");

    // A byte sidecar and other files are not train shards.
    write_shard(dir / "fineweb_train_bytes_000000.bin", {});
    write_shard(dir / "fineweb_val_000000.bin", std::vector<uint16_t>{1, 2});
    test::write_file(dir / "notes.txt", "x");
    const auto files = find_shards(dir.path(), "train");
    REQUIRE(files.size() == 5);
    std::vector<uint16_t> back;
    for (const auto& f : files) {
        Shard s = Shard::open(f);
        CHECK(s.num_tokens() == 4);
        back.insert(back.end(), s.tokens().begin(), s.tokens().end());
    }
    CHECK(back == all);
    CHECK(find_shards(dir.path(), "val").size() == 1);

    CHECK_THROWS_WITH_AS(find_shards(dir / "missing", "val"), doctest::Contains("does not exist"), Error);
    test::TempDir empty;
    CHECK_THROWS_WITH_AS(find_shards(empty.path(), "val"), doctest::Contains("no fineweb_val_*.bin"), Error);
}

TEST_CASE("data: damaged shards give a clear error naming the file") {
    test::TempDir dir;
    const auto check = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
        const auto path = dir / name;
        test::write_file(path, bytes);
        const std::string msg = open_error(path);
        INFO(msg);
        CHECK(msg.find(path.string()) != std::string::npos);
        CHECK(msg.find(expected) != std::string::npos);
    };
    check("magic.bin", header_bytes(20240521, 1, 3) + payload(3), "header magic is 20240521, expected 20240520");
    check("version.bin", header_bytes(20240520, 2, 3) + payload(3), "format version 2");
    check("short_header.bin", header_bytes(20240520, 1, 3).substr(0, 100), "truncated: 100 bytes");
    check("short_payload.bin", header_bytes(20240520, 1, 5) + payload(3), "is truncated: its header declares 5 tokens");
    check("trailing.bin", header_bytes(20240520, 1, 3) + payload(4), "size mismatch");
    check("odd_size.bin", header_bytes(20240520, 1, 3) + payload(3) + "x", "size mismatch");
    check("negative.bin", header_bytes(20240520, 1, -1), "negative token count");
    const std::string missing = open_error(dir / "missing.bin");
    CHECK(missing.find((dir / "missing.bin").string()) != std::string::npos);
}

TEST_CASE("data: token ids above the vocabulary are reported") {
    const std::vector<uint16_t> tokens = {1, 5, 1024};
    CHECK_NOTHROW(check_token_range(tokens, 1025, "x"));
    CHECK_THROWS_WITH_AS(check_token_range(tokens, 1024, "shard.bin"),
                         doctest::Contains("shard.bin: token id 1024 at position 2"), Error);
}

TEST_CASE("data: our shards load the way the challenge's loader reads them (numpy)") {
    const auto py = test::python_with({"numpy"});
    if (!py) {
        PG_SKIP("no python3 with numpy");
    }
    test::TempDir dir;
    const std::vector<uint16_t> tokens = {1, 300, 65535, 0, 9};
    write_shard(dir / "fineweb_val_000000.bin", tokens);
    // The challenge's load_data_shard: header as 256 '<i4', check magic / version / size, then N '<u2'.
    const std::string script =
        "import numpy as np, os, sys\n"
        "f = sys.argv[1]\n"
        "h = np.fromfile(f, dtype='<i4', count=256)\n"
        "assert h.size == 256 and int(h[0]) == 20240520 and int(h[1]) == 1, h[:3]\n"
        "n = int(h[2])\n"
        "assert os.path.getsize(f) == 256 * 4 + n * 2\n"
        "t = np.fromfile(f, dtype='<u2', count=n, offset=256 * 4)\n"
        "assert int(np.count_nonzero(h[3:])) == 0\n"
        "print(' '.join(str(int(x)) for x in t))\n";
    test::write_file(dir / "load.py", script);
    const auto r = test::run_command(*py + " " + (dir / "load.py").string() + " " + (dir / "fineweb_val_000000.bin").string());
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output == "1 300 65535 0 9\n");
}
