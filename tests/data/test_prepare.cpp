// `pgolf prepare`: dataset layout, BOS per document, the validation split first, determinism
// across thread counts, tokenizer reuse, and malformed input or bad options leaving no output
// folder behind; plus the command line itself through the pgolf binary.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "frontend/data/prepare.h"
#include "frontend/data/shard.h"
#include "frontend/data/tokenizer.h"
#include "tests/data/data_test_util.h"

using namespace pg;
using namespace pg::data;

namespace {

// Writes `docs` as one text file each, named so that directory order is document order.
std::filesystem::path write_docs(const test::TempDir& dir, const std::vector<std::string>& docs) {
    const auto in = dir / "in";
    for (size_t i = 0; i < docs.size(); ++i) test::write_file(in / fmt::format("{:03d}.txt", i), docs[i]);
    return in;
}

PrepareOptions options(const test::TempDir& dir, std::vector<std::filesystem::path> inputs) {
    PrepareOptions o;
    o.inputs = std::move(inputs);
    o.output = dir / "out/ds";
    o.vocab_size = 400;
    o.threads = 2;
    return o;
}

std::vector<uint16_t> split_tokens(const std::filesystem::path& ds, const std::string& split) {
    std::vector<uint16_t> all;
    for (const auto& f : find_shards(ds, split)) {
        Shard s = Shard::open(f);
        all.insert(all.end(), s.tokens().begin(), s.tokens().end());
    }
    return all;
}

// Documents of a split: the token runs that follow each BOS.
std::vector<std::vector<int>> documents_of(const std::vector<uint16_t>& tokens, int bos) {
    std::vector<std::vector<int>> docs;
    for (uint16_t t : tokens) {
        if (t == bos)
            docs.emplace_back();
        else
            docs.back().push_back(t);
    }
    return docs;
}

// Names in `dir` (to see that no staging folder is left behind).
std::vector<std::string> entries(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    if (!std::filesystem::exists(dir)) return names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    return names;
}

}  // namespace

TEST_CASE("data: prepare writes val first, one BOS per document, and the tokenizer") {
    test::TempDir dir;
    const auto docs = test::synthetic_corpus(25, 100);
    PrepareOptions o = options(dir, {write_docs(dir, docs)});
    o.val_docs = 5;
    o.shard_tokens = 500;  // several shards per split
    const PrepareSummary s = prepare_dataset(o);
    const auto ds = o.output;

    CHECK(s.val.docs == 5);
    CHECK(s.train.docs == 20);
    CHECK(s.input.files == 25);
    CHECK(s.trained_tokenizer);
    CHECK(std::filesystem::exists(ds / "tokenizer.model"));
    CHECK(std::filesystem::exists(ds / "tokenizer.vocab"));
    CHECK(entries(dir / "out") == std::vector<std::string>{"ds"});

    const Tokenizer tok = Tokenizer::load(ds / "tokenizer.model");
    const auto val = split_tokens(ds, "val");
    const auto train = split_tokens(ds, "train");
    CHECK(static_cast<int64_t>(val.size()) == s.val.tokens);
    CHECK(static_cast<int64_t>(train.size()) == s.train.tokens);
    CHECK(s.val.shards == static_cast<int64_t>(find_shards(ds, "val").size()));
    CHECK(s.train.shards > 1);
    REQUIRE(val.front() == tok.bos_id());
    REQUIRE(train.front() == tok.bos_id());
    const auto val_docs = documents_of(val, tok.bos_id());
    const auto train_docs = documents_of(train, tok.bos_id());
    REQUIRE(val_docs.size() == 5);
    REQUIRE(train_docs.size() == 20);
    for (size_t i = 0; i < 25; ++i) {
        const auto& ids = i < 5 ? val_docs[i] : train_docs[i - 5];
        CHECK(ids == tok.encode(docs[i]));
    }

    const auto manifest = nlohmann::json::parse(test::read_file(ds / "manifest.json"));
    CHECK(manifest["stats"]["docs_val"] == 5);
    CHECK(manifest["stats"]["tokens_train"] == s.train.tokens);
    CHECK(manifest["tokenizer"]["bos_id"] == 1);
    CHECK(manifest["append_eos"] == false);

    SUBCASE("the thread count does not change the output") {
        PrepareOptions one = o;
        one.output = dir / "out/ds1";
        one.threads = 1;
        prepare_dataset(one);
        CHECK(split_tokens(one.output, "val") == val);
        CHECK(split_tokens(one.output, "train") == train);
        // The .model records num_threads in its trainer spec; the pieces and scores are the same.
        CHECK(test::read_file(one.output / "tokenizer.vocab") == test::read_file(ds / "tokenizer.vocab"));
    }
    SUBCASE("a given tokenizer is reused and the default split is a tenth") {
        PrepareOptions again = o;
        again.output = dir / "out/ds2";
        again.tokenizer = ds / "tokenizer.model";
        again.vocab_size = 0;
        again.val_docs.reset();
        const PrepareSummary s2 = prepare_dataset(again);
        CHECK_FALSE(s2.trained_tokenizer);
        CHECK(s2.val.docs == 2);
        CHECK(test::read_file(again.output / "tokenizer.model") == test::read_file(ds / "tokenizer.model"));
        auto both = split_tokens(again.output, "val");
        const auto rest = split_tokens(again.output, "train");
        both.insert(both.end(), rest.begin(), rest.end());
        auto expected = val;
        expected.insert(expected.end(), train.begin(), train.end());
        CHECK(both == expected);
        again.vocab_size = 999;
        again.output = dir / "out/ds3";
        CHECK_THROWS_WITH_AS(prepare_dataset(again), doctest::Contains("does not match tokenizer"), Error);
    }
    SUBCASE("an existing output is kept unless --force") {
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains("already exists; pass --force"), Error);
        o.force = true;
        o.val_docs = 7;
        CHECK(prepare_dataset(o).val.docs == 7);
        CHECK(entries(dir / "out") == std::vector<std::string>{"ds"});
    }
}

TEST_CASE("data: prepare handles malformed input as documented and never half-writes") {
    test::TempDir dir;
    auto docs = test::synthetic_corpus(12, 80);
    std::string jsonl;
    for (const auto& d : docs) jsonl += nlohmann::json{{"text", d}}.dump() + "\n";

    SUBCASE("a bad JSON line stops with file:line and no output") {
        test::write_file(dir / "a.jsonl", jsonl + "{\"text\": broken}\n");
        PrepareOptions o = options(dir, {dir / "a.jsonl"});
        const std::string expected = (dir / "a.jsonl").string() + ":13: not valid JSON";
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains(expected.c_str()), Error);
        CHECK(entries(dir / "out").empty());
    }
    SUBCASE("a failure after training leaves nothing either") {
        test::write_file(dir / "a.jsonl", jsonl);
        PrepareOptions o = options(dir, {dir / "a.jsonl"});
        o.val_docs = 12;
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains("--val-docs 12 leaves no training document"),
                             Error);
        CHECK(entries(dir / "out").empty());
    }
    SUBCASE("invalid UTF-8 is replaced, blank documents skipped, both reported") {
        test::write_file(dir / "a.jsonl", jsonl);
        test::write_file(dir / "b.txt", "caf\xE9 au lait\n");
        test::write_file(dir / "c.txt", "  \n");
        PrepareOptions o = options(dir, {dir / "a.jsonl", dir / "b.txt", dir / "c.txt"});
        o.val_docs = 2;
        const PrepareSummary s = prepare_dataset(o);
        CHECK(s.val.docs + s.train.docs == 13);
        CHECK(s.input.invalid_utf8 == 1);
        CHECK(s.input.first_invalid_utf8 == (dir / "b.txt").string() + ":1");
        CHECK(s.input.skipped_blank == 1);
        CHECK(s.input.first_blank == (dir / "c.txt").string());
        const Tokenizer tok = Tokenizer::load(o.output / "tokenizer.model");
        const auto train = documents_of(split_tokens(o.output, "train"), tok.bos_id());
        // The text keeps U+FFFD; SentencePiece's nmt_nfkc normalisation then treats it as a space.
        CHECK(tok.encode("caf\xEF\xBF\xBD au lait") == train.back());
        CHECK(tok.decode(train.back()) == "caf au lait");
    }
    SUBCASE("bad options") {
        test::write_file(dir / "a.jsonl", jsonl);
        PrepareOptions o = options(dir, {dir / "a.jsonl"});
        o.vocab_size = 0;
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains("needs --vocab-size"), Error);
        o.vocab_size = 70000;
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains("out of range"), Error);
        o.vocab_size = 400;
        o.val_docs = 0;
        CHECK_THROWS_WITH_AS(prepare_dataset(o), doctest::Contains("--val-docs must be at least 1"), Error);
        test::write_file(dir / "one.txt", "just one document");
        PrepareOptions single = options(dir, {dir / "one.txt"});
        single.vocab_size = 261;
        CHECK_THROWS_AS(prepare_dataset(single), Error);
        CHECK(entries(dir / "out").empty());
    }
}

TEST_CASE("data: the pgolf prepare command reports figures and errors") {
    test::TempDir dir;
    const auto in = write_docs(dir, test::synthetic_corpus(10, 80));
    const std::string pgolf = PG_BINARY;
    auto r = test::run_command(pgolf + " prepare --input " + in.string() + " --output " + (dir / "ds").string() +
                               " --vocab-size 400 --val-docs 3 --threads 2");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("pgolf prepare: 10 documents from 10 files") != std::string::npos);
    CHECK(r.output.find("bytes/token") != std::string::npos);
    CHECK(r.output.find(fmt::format("  {:<6} {:>10}", "val", "3")) != std::string::npos);
    CHECK(r.output.find("train with: DATA_PATH=" + (dir / "ds").string()) != std::string::npos);

    test::write_file(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{oops}\n");
    r = test::run_command(pgolf + " prepare --input " + (dir / "bad.jsonl").string() + " --output " +
                          (dir / "ds2").string() + " --vocab-size 400");
    CHECK(r.status == 1);
    CHECK(r.output.find("pgolf prepare: error: " + (dir / "bad.jsonl").string() + ":2: not valid JSON") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "ds2"));

    r = test::run_command(pgolf + " prepare --input " + in.string() + " --bogus");
    CHECK(r.status == 1);
    CHECK(r.output.find("unknown argument '--bogus'") != std::string::npos);
    r = test::run_command(pgolf + " prepare --help");
    CHECK(r.status == 0);
    CHECK(r.output.find("--val-docs N") != std::string::npos);
}
