// TinyRun (see tiny_run.h).
#include "tests/support/tiny_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "frontend/data/prepare.h"

namespace pg {

std::vector<std::string> markov_corpus(int docs, int words) {
    static const std::vector<std::string> vocab = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they",
        "you", "were", "her", "she", "there", "been", "one", "all", "we", "their", "has", "would", "when",
        "what", "more", "about", "water", "river", "city", "people", "language", "number", "year", "model"};
    std::mt19937 rng(11);
    std::vector<size_t> successor(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) successor[i] = (i * 7 + 3) % vocab.size();
    std::vector<std::string> out;
    for (int d = 0; d < docs; ++d) {
        size_t w = rng() % vocab.size();
        std::string text = vocab[w];
        for (int i = 1; i < words; ++i) {
            w = rng() % 100 < 85 ? successor[w] : rng() % vocab.size();
            text += " " + vocab[w];
        }
        out.push_back(text + ".");
    }
    return out;
}

TinyRun::TinyRun(const std::string& name) {
    dir = std::filesystem::temp_directory_path() / fmt::format("pgolf_{}_{}", name, ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "text");
    auto docs = markov_corpus(60, 400);
    for (size_t i = 0; i < docs.size(); ++i) std::ofstream(dir / "text" / fmt::format("{:03}.txt", i)) << docs[i];
    data::PrepareOptions opts;
    opts.inputs = {dir / "text"};
    opts.output = dir / "data";
    opts.vocab_size = 320;
    opts.val_docs = 6;
    opts.threads = 2;
    data::prepare_dataset(opts);
    for (auto [k, v] : std::vector<std::pair<const char*, std::string>>{
             {"DATA_PATH", (dir / "data").string()}, {"TOKENIZER_PATH", (dir / "data" / "tokenizer.model").string()},
             {"VOCAB_SIZE", "320"}, {"NUM_LAYERS", "2"}, {"MODEL_DIM", "32"}, {"NUM_HEADS", "2"},
             {"NUM_KV_HEADS", "1"}, {"TRAIN_SEQ_LEN", "32"}, {"TRAIN_BATCH_TOKENS", "1024"},
             {"ITERATIONS", "12"}, {"WARMDOWN_ITERS", "4"}, {"WARMUP_STEPS", "1"},
             {"MAX_WALLCLOCK_SECONDS", "0"}, {"VAL_LOSS_EVERY", "0"}, {"VAL_BATCH_SIZE", "8192"},
             {"TRAIN_LOG_EVERY", "0"}, {"TIED_EMBED_LR", "0.2"}, {"PG_MUON_NS_DTYPE", "f32"},
             {"PG_BACKEND", "cpu"}})
        settings.push_back(std::make_unique<env::ScopedOverride>(k, v));
}

TinyRun::~TinyRun() { std::filesystem::remove_all(dir); }

}  // namespace pg
