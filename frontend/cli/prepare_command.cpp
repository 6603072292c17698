// `pgolf prepare`: turns text files, folders of them or JSON Lines into a dataset folder of
// challenge-format shards plus a SentencePiece tokenizer (the pipeline is frontend/data/prepare.h).
// Shows progress on a terminal and prints a summary table at the end.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/data/prepare.h"

namespace pg::cli {
namespace {

constexpr const char* kUsage = R"(pgolf prepare --input PATH... --output DIR --vocab-size N [options]

Reads documents, trains a SentencePiece BPE tokenizer with the challenge's settings (byte fallback,
split digits, nmt_nfkc, no dummy prefix, pad/bos/eos/unk = 0/1/2/3), encodes every document as
[BOS] + ids on all cores and writes DIR in the challenge's layout:
  fineweb_val_000000.bin ...    the first --val-docs documents
  fineweb_train_000000.bin ...  the other documents, in input order
  tokenizer.model, tokenizer.vocab, manifest.json
Train with DATA_PATH=DIR TOKENIZER_PATH=DIR/tokenizer.model VOCAB_SIZE=<vocab>.

Inputs (--input takes one or more paths and may be repeated):
  FILE.jsonl / FILE.ndjson      one document per line: a JSON object with a string field "text"
  any other FILE                one document: the whole file, UTF-8 text
  DIR                           every file below it, in sorted path order; names starting with '.'
                                are skipped
Malformed input:
  invalid UTF-8                 replaced with U+FFFD per ill-formed sequence (which the tokenizer's
                                nmt_nfkc normalisation turns into a space); counted and reported
  blank document                skipped (it would only add a BOS); counted and reported
  bad JSON line, no "text"      error naming FILE:LINE; nothing is written

Options:
  --output DIR                  the dataset folder; written under a temporary name and renamed at
                                the end, so a failure leaves no DIR behind
  --vocab-size N                tokenizer vocabulary (261..65536; also read from VOCAB_SIZE)
  --val-docs N                  documents in the validation split (default: a tenth, at least 1)
  --tokenizer MODEL             reuse a SentencePiece .model instead of training one
  --tokenizer-train-docs N      train the tokenizer on the first N documents only (default: all)
  --shard-tokens N              tokens per shard (default 100000000, the challenge's)
  --threads N                   encoding and training threads (default: all cores)
  --force                       replace DIR if it exists)";

int64_t parse_count(const std::string& flag, const std::string& value) {
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    PG_CHECK(used == value.size() && used > 0, "{} expects a whole number, got '{}'", flag, value);
    return v;
}

data::PrepareOptions parse_args(const std::vector<std::string>& args) {
    data::PrepareOptions o;
    bool vocab_given = false;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::string inline_value;
        bool has_inline = false;
        if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            has_inline = true;
        }
        auto value = [&]() -> std::string {
            if (has_inline) return inline_value;
            PG_CHECK(i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0, "{} needs a value", flag);
            return args[++i];
        };
        if (flag == "--input") {
            if (has_inline) o.inputs.emplace_back(inline_value);
            while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) o.inputs.emplace_back(args[++i]);
            PG_CHECK(!o.inputs.empty(), "--input needs at least one path");
        } else if (flag == "--output") {
            o.output = value();
        } else if (flag == "--vocab-size") {
            o.vocab_size = parse_count(flag, value());
            vocab_given = true;
        } else if (flag == "--val-docs") {
            o.val_docs = parse_count(flag, value());
        } else if (flag == "--tokenizer") {
            o.tokenizer = value();
        } else if (flag == "--tokenizer-train-docs") {
            o.tokenizer_train_docs = parse_count(flag, value());
        } else if (flag == "--shard-tokens") {
            o.shard_tokens = parse_count(flag, value());
        } else if (flag == "--threads") {
            o.threads = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--force") {
            PG_CHECK(!has_inline, "--force takes no value");
            o.force = true;
        } else {
            throw Error(fmt::format("unknown argument '{}'; `pgolf prepare --help` lists the options", args[i]));
        }
    }
    // When VOCAB_SIZE is a registered setting, --vocab-size was consumed as that setting.
    if (!vocab_given && env::find("VOCAB_SIZE")) o.vocab_size = env::get_int("VOCAB_SIZE");
    return o;
}

std::string grouped(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return v < 0 ? "-" + out : out;
}

// Redraws one status line on stderr at most ten times a second, only when stderr is a terminal.
class ProgressLine {
public:
    ProgressLine() : tty_(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressLine() { clear(); }

    void update(std::string_view phase, int64_t done, int64_t total, int64_t tokens) {
        if (!tty_) return;
        const auto now = std::chrono::steady_clock::now();
        if (drawn_ && phase == last_phase_ && done != total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        last_phase_ = phase;
        std::string line = fmt::format("prepare: {} {} docs", phase, grouped(done));
        if (total > 0) line += fmt::format(" of {} ({:.0f}%)", grouped(total), 100.0 * double(done) / double(total));
        if (tokens > 0) line += fmt::format(", {} tokens", grouped(tokens));
        fmt::print(stderr, "\r\033[K{}", line);
        std::fflush(stderr);
        drawn_ = true;
    }
    void clear() {
        if (drawn_) fmt::print(stderr, "\r\033[K");
        drawn_ = false;
    }

private:
    bool tty_;
    bool drawn_ = false;
    std::string last_phase_;
    std::chrono::steady_clock::time_point last_{};
};

void print_summary(const data::PrepareSummary& s) {
    fmt::print("pgolf prepare: {} documents from {} files -> {} in {:.1f} s (read + train tokenizer {:.1f} s, "
               "encode + write {:.1f} s, {} threads)\n",
               grouped(s.val.docs + s.train.docs), grouped(s.input.files), s.output.string(), s.seconds_total,
               s.seconds_tokenizer, s.seconds_encode, s.threads);
    fmt::print("  tokenizer  {} ({} BPE, {} pieces)\n", s.tokenizer_model.string(),
               s.trained_tokenizer ? "trained" : "copied", s.vocab_size);
    fmt::print("  {:<6} {:>10} {:>14} {:>14} {:>14} {:>12} {:>7}\n", "split", "docs", "tokens", "text bytes",
               "metric bytes", "bytes/token", "shards");
    auto row = [&](const char* name, const data::SplitStats& x) {
        const int64_t bytes = s.has_metric_bytes ? x.metric_bytes : x.text_bytes;
        fmt::print("  {:<6} {:>10} {:>14} {:>14} {:>14} {:>12.3f} {:>7}\n", name, grouped(x.docs), grouped(x.tokens),
                   grouped(x.text_bytes), s.has_metric_bytes ? grouped(x.metric_bytes) : std::string("n/a"),
                   x.tokens > 0 ? double(bytes) / double(x.tokens) : 0.0, x.shards);
    };
    data::SplitStats total = s.val;
    total.docs += s.train.docs;
    total.tokens += s.train.tokens;
    total.text_bytes += s.train.text_bytes;
    total.metric_bytes += s.train.metric_bytes;
    total.shards += s.train.shards;
    row("val", s.val);
    row("train", s.train);
    row("total", total);
    fmt::print("  (tokens include one BOS per document; metric bytes are val_bpb's denominator: the UTF-8 bytes "
               "of the NFKC-normalised text, spec 2.2)\n");
    if (!s.has_metric_bytes)
        fmt::print("  warning: the tokenizer has no standalone '\u2581' piece, so val_bpb cannot be measured "
                   "exactly with it; bytes/token uses text bytes\n");
    if (s.input.skipped_blank > 0)
        fmt::print("  skipped {} blank document(s) (first: {})\n", grouped(s.input.skipped_blank), s.input.first_blank);
    if (s.input.invalid_utf8 > 0)
        fmt::print("  replaced {} invalid UTF-8 sequence(s) with U+FFFD (first: {})\n", grouped(s.input.invalid_utf8),
                   s.input.first_invalid_utf8);
    fmt::print("  train with: DATA_PATH={} TOKENIZER_PATH={} VOCAB_SIZE={}\n", s.output.string(),
               s.tokenizer_model.string(), s.vocab_size);
}

int run_prepare(std::vector<std::string> args) {
    const data::PrepareOptions options = parse_args(args);
    ProgressLine progress;
    const data::PrepareSummary summary = data::prepare_dataset(
        options, [&](std::string_view phase, int64_t done, int64_t total, int64_t tokens) {
            progress.update(phase, done, total, tokens);
        });
    progress.clear();
    print_summary(summary);
    return 0;
}

PG_COMMAND({.name = "prepare",
            .summary = "turn text / JSON Lines documents into challenge-format shards and a tokenizer",
            .usage = kUsage,
            .run = run_prepare});

}  // namespace
}  // namespace pg::cli
