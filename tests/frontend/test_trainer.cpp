// The trainer end to end on a small synthetic dataset with context to learn: the validation loss
// ends clearly below the best context-free (unigram) model's, every weight of every group moved,
// the int8+zstd artifact's round-trip val_bpb stays within 0.01 of the pre-export value, and a run
// resumed from a mid-run checkpoint ends bit-identical to the uninterrupted run.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/env.h"
#include "frontend/data/prepare.h"
#include "frontend/data/shard.h"
#include "frontend/train/step_graphs.h"
#include "frontend/train/trainer.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

// Cross-entropy (nats per token) of the validation targets under the training shards' unigram
// distribution (add-one smoothed): what a model without context reaches at best.
double unigram_cross_entropy(const std::filesystem::path& data, int64_t vocab) {
    std::vector<double> counts(static_cast<size_t>(vocab), 1.0);
    double total = static_cast<double>(vocab);
    for (const auto& f : data::find_shards(data, "train")) {
        data::Shard shard = data::Shard::open(f);  // the tokens live as long as the mapping
        for (uint16_t t : shard.tokens()) {
            counts[t] += 1;
            total += 1;
        }
    }
    double nll = 0;
    int64_t n = 0;
    for (const auto& f : data::find_shards(data, "val")) {
        data::Shard shard = data::Shard::open(f);
        auto tokens = shard.tokens();
        for (size_t i = 1; i < tokens.size(); ++i, ++n) nll -= std::log(counts[tokens[i]] / total);
    }
    return nll / static_cast<double>(n);
}

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
    double unigram = unigram_cross_entropy(run.dir / "data", 320);
    MESSAGE(fmt::format("val_loss {:.4f} against the unigram model's {:.4f} (ln V = {:.4f})", full.val_loss, unigram,
                        std::log(320.0)));
    CHECK(full.val_loss < unigram - 0.1);  // context was learned, not just token frequencies
    CHECK(std::fabs(full.roundtrip_val_bpb - full.val_bpb) <= 0.01);

    // Every weight of every group moved from its initial value (none is left out of the optimizer).
    Hyperparams h = read_hyperparams();
    TrainingGraphs graphs = build_training_graphs(h);
    std::map<std::string, HostTensor> init = graphs.optimizer.params->initialize(static_cast<uint64_t>(h.seed));
    std::map<std::string, int> moved;
    for (const ParamSpec& p : graphs.model_specs) {
        INFO("weight ", p.name, " (", p.group, ")");
        bool changed = full.state.at(p.name).bytes != init.at(p.name).bytes;
        CHECK(changed);
        moved[p.group] += changed;
    }
    CHECK(moved["embed"] == 1);
    CHECK(moved["matrix"] > 0);
    CHECK(moved["scalar"] > 0);

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
