// Train stream and distributed loader against the baseline's semantics (spec 1.4a), and
// validation loading / truncation (spec 1.5).
#include <doctest/doctest.h>

#include <numeric>

#include "base/error.h"
#include "frontend/data/shard.h"
#include "frontend/data/token_stream.h"
#include "frontend/data/validation.h"
#include "tests/data/data_test_util.h"

using namespace pg;
using namespace pg::data;

namespace {

// Shards holding 0, 1, 2, ... in order: sizes given; returns the sorted paths.
std::vector<std::filesystem::path> counting_shards(const test::TempDir& dir, const std::vector<int>& sizes,
                                                   const std::string& split = "train") {
    std::vector<std::filesystem::path> files;
    uint16_t next = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
        std::vector<uint16_t> t(static_cast<size_t>(sizes[i]));
        for (auto& v : t) v = next++;
        files.push_back(dir / shard_file_name(split, static_cast<int64_t>(i)));
        write_shard(files.back(), t);
    }
    return files;
}

}  // namespace

TEST_CASE("data: token stream crosses shard ends, skips empty shards and wraps around") {
    test::TempDir dir;
    const auto files = counting_shards(dir, {5, 0, 3, 4});  // tokens 0..11
    TokenStream stream(files);
    CHECK(stream.take(4) == std::vector<uint16_t>{0, 1, 2, 3});
    CHECK(stream.take(3) == std::vector<uint16_t>{4, 5, 6});
    stream.skip(3);
    CHECK(stream.take(5) == std::vector<uint16_t>{10, 11, 0, 1, 2});
    CHECK(stream.file_index() == 0);
    CHECK(stream.position() == 3);

    test::TempDir empty_dir;
    const auto empty = counting_shards(empty_dir, {0, 0});
    TokenStream nothing(empty);
    CHECK_THROWS_WITH_AS(nothing.take(1), doctest::Contains("every training shard is empty"), Error);
    CHECK_THROWS_AS(TokenStream({}), Error);
}

TEST_CASE("data: distributed loader slices each chunk per rank like the baseline") {
    test::TempDir dir;
    const auto files = counting_shards(dir, {100, 37, 250});  // 387 tokens
    for (const int world : {1, 2, 3}) {
        for (const int accum : {1, 2}) {
            const int64_t seq = 4;
            const int64_t global = seq * 3 * world * accum;  // 3 rows per rank and micro-step
            const int64_t local = global / (world * accum);
            std::vector<DistributedTokenLoader> loaders;
            for (int r = 0; r < world; ++r) loaders.emplace_back(files, r, world);
            TokenStream reference(files);
            for (int step = 0; step < 15; ++step) {  // wraps past the last shard
                // The baseline: chunk = take(world * (local + 1)); rank r's span is its slice.
                const std::vector<uint16_t> chunk = reference.take(world * (local + 1));
                for (int r = 0; r < world; ++r) {
                    const TokenBatch b = loaders[static_cast<size_t>(r)].next_batch(global, seq, accum);
                    CHECK(b.rows == local / seq);
                    CHECK(b.seq_len == seq);
                    REQUIRE(b.inputs.size() == static_cast<size_t>(local));
                    const auto span = chunk.begin() + r * (local + 1);
                    CHECK(std::equal(b.inputs.begin(), b.inputs.end(), span));
                    CHECK(std::equal(b.targets.begin(), b.targets.end(), span + 1));
                }
            }
        }
    }
    DistributedTokenLoader loader(files, 0, 2);
    CHECK_THROWS_WITH_AS(loader.next_batch(31, 4, 1), doctest::Contains("must be a positive multiple"), Error);
    CHECK_THROWS_WITH_AS(loader.next_batch(36, 4, 1), doctest::Contains("not a multiple of TRAIN_SEQ_LEN=4"), Error);
    CHECK_THROWS_AS(DistributedTokenLoader(files, 2, 2), Error);
}

TEST_CASE("data: validation tokens are concatenated in order and truncated to usable + 1") {
    test::TempDir dir;
    counting_shards(dir, {10, 7}, "val");  // 17 tokens: 0..16
    write_shard(dir / "fineweb_val_bytes_000000.bin", std::vector<uint16_t>{9, 9, 9});  // sidecar: skipped
    write_shard(dir / "fineweb_train_000000.bin", std::vector<uint16_t>{1, 2, 3});

    ValidationTokens v = load_validation_tokens(dir.path(), 4);
    CHECK(v.loaded == 17);
    CHECK(v.usable == 16);  // floor(16 / 4) * 4
    CHECK(v.tokens.size() == 17);
    CHECK(v.files.size() == 2);

    v = load_validation_tokens(dir.path(), 5);
    CHECK(v.usable == 15);
    REQUIRE(v.tokens.size() == 16);
    std::vector<uint16_t> expected(16);
    std::iota(expected.begin(), expected.end(), uint16_t{0});
    CHECK(v.tokens == expected);

    CHECK_THROWS_WITH_AS(load_validation_tokens(dir.path(), 17), doctest::Contains("too short for sequence length 17"),
                         Error);
    CHECK(load_validation_tokens(dir.path(), 16).usable == 16);
    CHECK_THROWS_WITH_AS(load_validation_tokens(dir.path(), 4, 10), doctest::Contains("token id 10"), Error);
    CHECK_THROWS_AS(truncate_validation({}, 1), Error);
    CHECK(truncate_validation({5, 6}, 1).usable == 1);
}
