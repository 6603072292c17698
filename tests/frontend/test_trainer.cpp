// The trainer end to end on a small synthetic dataset: training lowers the validation loss, the
// int8+zstd artifact's round-trip val_bpb stays within 0.01 of the pre-export value, and a run
// resumed from a mid-run checkpoint ends bit-identical to the uninterrupted run.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontend/data/prepare.h"
#include "frontend/train/trainer.h"
#include "base/env.h"
#include "tests/data/data_test_util.h"

namespace pg {
namespace {

struct TinyRun {
    std::filesystem::path dir;
    std::vector<std::unique_ptr<env::ScopedOverride>> settings;

    TinyRun() {
        dir = std::filesystem::temp_directory_path() / fmt::format("pgolf_trainer_{}", ::getpid());
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir / "text");
        auto docs = test::synthetic_corpus(60, 400);
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
    ~TinyRun() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("frontend: pgolf train learns, exports within 0.01 bpb, and resumes exactly") {
    TinyRun run;
    TrainResult full;
    {
        env::ScopedOverride a("RUN_DIR", (run.dir / "full").string());
        env::ScopedOverride b("CHECKPOINT_EVERY", "6");
        full = train(read_hyperparams());
    }
    CHECK(full.steps == 12);
    CHECK(std::filesystem::exists(run.dir / "full" / "final_model.ckpt"));
    CHECK(std::filesystem::exists(run.dir / "full" / "final_model.int8.zst"));
    MESSAGE(fmt::format("val_bpb {:.4f}, round trip {:.4f}, artifact {} bytes", full.val_bpb, full.roundtrip_val_bpb,
                        full.artifact_bytes));
    CHECK(full.val_loss < 0.75 * std::log(320.0));  // at init the loss is ln(V) = 5.77 nats
    CHECK(std::fabs(full.roundtrip_val_bpb - full.val_bpb) <= 0.01);

    TrainResult resumed;
    {
        env::ScopedOverride a("RUN_DIR", (run.dir / "resumed").string());
        env::ScopedOverride b("RESUME_FROM", (run.dir / "full" / "checkpoint_step6.ckpt").string());
        resumed = train(read_hyperparams());
    }
    CHECK(resumed.steps == 12);
    REQUIRE(resumed.state.size() == full.state.size());
    for (const auto& [name, value] : full.state) {
        INFO("tensor ", name);
        CHECK(resumed.state.at(name).bytes == value.bytes);  // bit-identical
    }
    CHECK(resumed.val_loss == full.val_loss);
}

}  // namespace pg
