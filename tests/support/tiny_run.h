// TinyRun: a complete small training setup for end-to-end tests of `pgolf train` and what reads
// its output: a synthetic corpus with context to learn (markov_corpus), prepared into shards and
// a tokenizer in a temporary folder, and the settings of a 2-layer d32 model trained for 12 steps
// on the CPU backend (seconds), applied as overrides for the object's lifetime.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/env.h"

namespace pg {

// `docs` documents of `words` words: each word is followed by its successor in a fixed table 85%
// of the time (else by a random word), so a model that learns what follows what beats the best
// unigram model, which is all that i.i.d. words would allow.
std::vector<std::string> markov_corpus(int docs, int words);

struct TinyRun {
    std::filesystem::path dir;  // <tmp>/pgolf_<name>_<pid>: text/, data/ and the runs
    std::vector<std::unique_ptr<env::ScopedOverride>> settings;

    explicit TinyRun(const std::string& name = "trainer");
    ~TinyRun();
    TinyRun(const TinyRun&) = delete;
    TinyRun& operator=(const TinyRun&) = delete;
};

}  // namespace pg
