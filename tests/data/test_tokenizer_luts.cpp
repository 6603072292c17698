// Tokenizer training with the challenge's settings and the metric's byte tables, checked against
// the Python sentencepiece module on a tokenizer trained here on a few KB of text; and the byte
// count of a validation split against the UTF-8 length of its (normalised) text.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "frontend/data/prepare.h"
#include "frontend/data/shard.h"
#include "frontend/data/tokenizer.h"
#include "frontend/eval/byte_luts.h"
#include "frontend/eval/window_plan.h"
#include "tests/data/data_test_util.h"

using namespace pg;
using namespace pg::data;

namespace {

Tokenizer train_small(const std::vector<std::string>& docs, int64_t vocab) {
    size_t next = 0;
    return Tokenizer::train(
        [&](std::string& text) {
            if (next == docs.size()) return false;
            text = docs[next++];
            return true;
        },
        {.vocab_size = vocab, .threads = 2});
}

// Builds the tables in Python from the spec (section 2.2) and encodes `texts_file` line by line.
constexpr const char* kOracle = R"(import json, sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
V = int(sys.argv[2])
n = max(sp.vocab_size(), V)
base, lead, bound = [0] * n, [0] * n, [1] * n
for i in range(sp.vocab_size()):
    if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
        continue
    bound[i] = 0
    if sp.is_byte(i):
        base[i] = 1
        continue
    piece = sp.id_to_piece(i)
    if piece.startswith("\u2581"):
        lead[i] = 1
        piece = piece[1:]
    base[i] = len(piece.encode("utf-8"))
texts = json.load(open(sys.argv[3], encoding="utf-8"))
print(json.dumps({"base": base, "lead": lead, "bound": bound, "vocab": sp.vocab_size(),
                  "ids": [sp.encode(t) for t in texts],
                  "special": [sp.pad_id(), sp.bos_id(), sp.eos_id(), sp.unk_id()]}))
)";

}  // namespace

TEST_CASE("data: tokenizer training uses the challenge's settings") {
    const auto docs = test::synthetic_corpus(40, 120);
    const Tokenizer tok = train_small(docs, 400);
    CHECK(tok.vocab_size() <= 400);
    CHECK(tok.vocab_size() > 300);
    CHECK(tok.pad_id() == 0);
    CHECK(tok.bos_id() == 1);
    CHECK(tok.eos_id() == 2);
    CHECK(tok.unk_id() == 3);
    int bytes = 0;
    for (int i = 0; i < tok.vocab_size(); ++i) bytes += tok.is_byte(i) ? 1 : 0;
    CHECK(bytes == 256);                            // byte_fallback
    CHECK(tok.piece_to_id("\u2581") != tok.unk_id());  // '▁' is a standalone piece
    // split_digits: no piece holds two digits; add_dummy_prefix=false: no '▁' before the first word.
    for (int i = 0; i < tok.vocab_size(); ++i) {
        if (tok.is_byte(i)) continue;  // <0x00> ... <0xFF>
        const std::string& p = tok.piece(i);
        int digits = 0;
        for (char c : p) digits += (c >= '0' && c <= '9') ? 1 : 0;
        CHECK(digits <= 1);
    }
    const std::vector<int> ids = tok.encode("the river");
    REQUIRE(!ids.empty());
    CHECK(tok.piece(ids[0]).rfind("\u2581", 0) != 0);
    CHECK(tok.decode(ids) == "the river");

    test::TempDir dir;
    tok.save(dir / "t.model");
    const Tokenizer back = Tokenizer::load(dir / "t.model");
    CHECK(back.encode(docs[3]) == tok.encode(docs[3]));
    CHECK(std::filesystem::exists(dir / "t.vocab"));
    CHECK_THROWS_WITH_AS(Tokenizer::load(dir / "missing.model"), doctest::Contains("TOKENIZER_PATH"), Error);
    test::write_file(dir / "junk.model", "not a model");
    CHECK_THROWS_WITH_AS(Tokenizer::load(dir / "junk.model"), doctest::Contains("not a valid SentencePiece model"),
                         Error);
    CHECK_THROWS_WITH_AS(train_small(docs, 100), doctest::Contains("--vocab-size 100 is out of range"), Error);
}

TEST_CASE("data: byte tables and encodings match the Python sentencepiece module") {
    const auto py = test::python_with({"sentencepiece"});
    if (!py) {
        PG_SKIP("no python3 with the sentencepiece module (Debian: python3-sentencepiece)");
    }
    test::TempDir dir;
    const auto docs = test::synthetic_corpus(40, 120);
    const Tokenizer tok = train_small(docs, 400);
    tok.save(dir / "t.model");
    auto texts = test::synthetic_corpus(6, 60, /*messy=*/true, /*seed=*/99);
    texts.push_back("x\x01y \xE2\x96\x81 lone marker, tab\there, \xE6\x9D\xB1\xE4\xBA\xAC");
    test::write_file(dir / "texts.json", nlohmann::json(texts).dump());
    test::write_file(dir / "oracle.py", kOracle);
    const int64_t vocab = tok.vocab_size() + 9;  // VOCAB_SIZE above the tokenizer's: padded rows
    const auto r = test::run_command(*py + " " + (dir / "oracle.py").string() + " " + (dir / "t.model").string() +
                                     " " + std::to_string(vocab) + " " + (dir / "texts.json").string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const auto oracle = nlohmann::json::parse(r.output);

    const eval::ByteLuts luts = eval::build_byte_luts(tok, vocab);
    CHECK(luts.size() == vocab);
    CHECK(oracle["vocab"].get<int>() == tok.vocab_size());
    CHECK(oracle["special"].get<std::vector<int>>() == std::vector<int>{0, 1, 2, 3});
    CHECK(oracle["base"].get<std::vector<int16_t>>() == luts.base_bytes);
    CHECK(oracle["lead"].get<std::vector<uint8_t>>() == luts.has_leading_space);
    CHECK(oracle["bound"].get<std::vector<uint8_t>>() == luts.is_boundary);
    for (size_t i = 0; i < texts.size(); ++i) CHECK(oracle["ids"][i].get<std::vector<int>>() == tok.encode(texts[i]));
    // Spot checks of the rules themselves.
    CHECK(luts.is_boundary[static_cast<size_t>(tok.bos_id())] == 1);
    CHECK(luts.base_bytes[static_cast<size_t>(tok.bos_id())] == 0);
    CHECK(luts.base_bytes[static_cast<size_t>(tok.piece_to_id("<0xE6>"))] == 1);
    const int marker = tok.piece_to_id("\u2581");
    CHECK(luts.has_leading_space[static_cast<size_t>(marker)] == 1);
    CHECK(luts.base_bytes[static_cast<size_t>(marker)] == 0);
}

TEST_CASE("data: summed target bytes of a validation split equal the UTF-8 length of its text") {
    // Spec 2.2 counts bytes of the NFKC-normalised text (what decoding the ids gives back). For
    // text that normalisation leaves alone (single spaces, NFC characters) that is the raw text.
    for (const bool messy : {false, true}) {
        CAPTURE(messy);
        test::TempDir dir;
        const auto docs = test::synthetic_corpus(30, 150, messy, 5);
        std::string jsonl;
        for (const auto& d : docs) jsonl += nlohmann::json{{"text", d}}.dump() + "\n";
        test::write_file(dir / "docs.jsonl", jsonl);
        const int64_t val_docs = 12;
        PrepareOptions o;
        o.inputs = {dir / "docs.jsonl"};
        o.output = dir / "ds";
        o.vocab_size = 400;
        o.val_docs = val_docs;
        o.threads = 2;
        const PrepareSummary s = prepare_dataset(o);
        const Tokenizer tok = Tokenizer::load(dir / "ds/tokenizer.model");
        const eval::ByteLuts luts = eval::build_byte_luts(tok, tok.vocab_size());

        const auto files = find_shards(dir / "ds", "val");
        REQUIRE(files.size() == 1);
        Shard shard = Shard::open(files[0]);
        const std::span<const uint16_t> stream = shard.tokens();
        const int64_t n = shard.num_tokens();
        const int64_t bytes = eval::sum_target_bytes(stream, luts, 1, n);

        int64_t expected = 0;
        for (int64_t i = 0; i < val_docs; ++i) {
            const std::string& text = docs[static_cast<size_t>(i)];
            const std::string normalised = tok.decode(tok.encode(text));
            if (!messy) CHECK(normalised == text);
            expected += static_cast<int64_t>(normalised.size());
        }
        CHECK(bytes == expected);
        CHECK(s.val.metric_bytes == expected);
        if (!messy) {
            int64_t raw = 0;
            for (int64_t i = 0; i < val_docs; ++i) raw += static_cast<int64_t>(docs[static_cast<size_t>(i)].size());
            CHECK(bytes == raw);
            CHECK(s.val.text_bytes == raw);
        }

        // The sliding window, scoring each target once, counts the same bytes and tokens.
        for (const int64_t stride : {1, 16, 64}) {
            const eval::WindowPlan plan = eval::plan_sliding_windows(n, 64, stride);
            eval::BpbAccumulator acc;
            const std::vector<float> zeros(64, 0.0f);
            for (const eval::EvalWindow& w : plan.windows) eval::score_window(acc, w, zeros, stream, luts);
            CHECK(acc.bytes() == static_cast<double>(expected));
            CHECK(acc.tokens() == static_cast<double>(n - 1));
        }
    }
}
