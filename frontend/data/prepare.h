// The dataset preparation pipeline behind `pgolf prepare`: documents in (text files, directories,
// JSON Lines), a dataset folder out, laid out as the challenge's exports are:
//   fineweb_val_000000.bin ...    the first val_docs documents (flushed before any train document)
//   fineweb_train_000000.bin ...  every later document, in input order
//   tokenizer.model / .vocab      the SentencePiece model (trained with the challenge's settings,
//                                 or a copy of the one given)
//   manifest.json                 settings and figures, with the challenge manifest's stats fields
// Each document becomes [BOS] + its token ids (no EOS). The folder is written under a temporary
// name beside DIR and renamed at the end, so a failure never leaves a half-written DIR (it leaves
// nothing at all).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/data/document_reader.h"
#include "frontend/data/shard.h"

namespace pg::data {

struct PrepareOptions {
    std::vector<std::filesystem::path> inputs;
    std::filesystem::path output;
    int64_t vocab_size = 0;                 // required when training; must match a given tokenizer
    std::optional<int64_t> val_docs;        // default: a tenth of the documents (at least 1)
    std::filesystem::path tokenizer;        // use this .model instead of training one
    int64_t tokenizer_train_docs = 0;       // train on the first N documents; 0 = all
    int64_t shard_tokens = kDefaultShardTokens;
    int threads = 0;                        // 0 = every hardware thread
    bool force = false;                     // replace an existing output folder
};

struct SplitStats {
    int64_t docs = 0;
    int64_t tokens = 0;        // including one BOS per document
    int64_t text_bytes = 0;    // UTF-8 bytes of the input texts
    int64_t metric_bytes = 0;  // bytes by the metric's tables (spec 2.2): val_bpb's denominator
    int64_t shards = 0;
};

struct PrepareSummary {
    std::filesystem::path output;
    std::filesystem::path tokenizer_model;
    int vocab_size = 0;
    bool trained_tokenizer = false;
    bool has_metric_bytes = false;  // false when the tokenizer has no standalone '▁' piece
    SplitStats val;
    SplitStats train;
    DocumentStats input;
    int threads = 1;
    double seconds_tokenizer = 0;
    double seconds_encode = 0;
    double seconds_total = 0;
};

// Progress reports: a phase name ("reading", "training tokenizer", "encoding"), documents done,
// documents in total (0 when not known yet) and tokens written so far.
using PrepareProgress = std::function<void(std::string_view phase, int64_t done, int64_t total, int64_t tokens)>;

// Runs the pipeline. Throws pg::Error for bad options, unreadable or malformed input (see
// document_reader.h) and I/O failures; the output folder then does not exist (or, with force, is
// still the previous one).
PrepareSummary prepare_dataset(const PrepareOptions& options, const PrepareProgress& progress = {});

}  // namespace pg::data
