// `pgolf train`: the baseline trainer configured by train_gpt.py's environment variables (or the
// same names as --flags, e.g. --num-layers=4). With SEEDS=1337,42,2025 (or --seeds=...) it runs the
// same configuration once per seed into RUN_DIR/seed<N>, ready for `pgolf compare`.
#include <fmt/format.h>

#include <charconv>
#include <set>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/train/data_parallel.h"
#include "frontend/train/print_config.h"
#include "frontend/train/trainer.h"
#include "runtime/comm/world.h"

namespace pg::cli {
namespace {

std::vector<int64_t> parse_seeds(const std::string& text) {
    std::vector<int64_t> seeds;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = std::min(text.find(',', start), text.size());
        std::string item = text.substr(start, end - start);
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        PG_CHECK(ec == std::errc() && ptr == item.data() + item.size() && !item.empty(),
                 "SEEDS='{}': '{}' is not an integer seed (give a comma-separated list such as 1337,42,2025)", text,
                 item);
        seeds.push_back(v);
        start = end + 1;
    }
    PG_CHECK(std::set<int64_t>(seeds.begin(), seeds.end()).size() == seeds.size(),
             "SEEDS='{}' names a seed twice: each seed is one run", text);
    return seeds;
}

// One run: every rank of a distributed launch checks its settings against rank 0's first.
TrainResult train_once() {
    Hyperparams h = read_hyperparams();
    join_world(h);
    return train(h);
}

// A run stopped by the non-finite guard exits 1; one stopped by a signal exits as the shell
// reports a process killed by it (128 + signal), so that schedulers see the preemption.
int stopped_status(const TrainResult& r) {
    fmt::print(stderr, "pgolf train: {}\n", r.stop_message);
    return r.stop == TrainStop::Signal ? 128 + r.stop_signal : 1;
}

void print_done(const TrainResult& r) {
    if (!comm::world().is_main()) return;
    fmt::print("done: {} steps; val_bpb {:.4f} before export, {:.4f} after the artifact round trip ({} bytes); "
               "run directory {}\n",
               r.steps, r.val_bpb, r.roundtrip_val_bpb, r.artifact_bytes, r.run_dir);
}

// One run per seed, each with SEED, RUN_ID and RUN_DIR overridden; a summary line per seed at the end.
// A stopped run (signal, non-finite loss) ends the series with its status.
int train_seeds(const std::vector<int64_t>& seeds) {
    Hyperparams base = read_hyperparams();
    std::vector<TrainResult> results;
    for (int64_t seed : seeds) {
        env::ScopedOverride s("SEED", std::to_string(seed));
        env::ScopedOverride id("RUN_ID", fmt::format("{}_seed{}", base.run_id, seed));
        env::ScopedOverride dir("RUN_DIR", fmt::format("{}/seed{}", base.run_dir, seed));
        fmt::print("=== seed {} ({} of {}) into {}/seed{}\n", seed, results.size() + 1, seeds.size(), base.run_dir, seed);
        results.push_back(train_once());
        if (results.back().stop != TrainStop::Completed) return stopped_status(results.back());
        print_done(results.back());
    }
    fmt::print("seeds of {}:\n", base.run_dir);
    for (size_t i = 0; i < seeds.size(); ++i)
        fmt::print("  seed {:<8} val_bpb {:.4f} (round trip {:.4f})  {}\n", seeds[i], results[i].val_bpb,
                   results[i].roundtrip_val_bpb, results[i].run_dir);
    fmt::print("compare with: pgolf compare --baseline OTHER_RUN_DIR --candidate {}\n", base.run_dir);
    return 0;
}

int run_train(std::vector<std::string> args) {
    if (args.size() == 1 && (args[0] == "--print-config" || args[0] == "--print-params")) {
        Hyperparams h = read_hyperparams();
        fmt::print("{}", args[0] == "--print-config" ? resolved_config(h) : parameter_table(h));
        return 0;
    }
    PG_CHECK(args.empty(), "unexpected argument '{}': settings are --NAME=value flags or environment variables "
             "(`pgolf env` lists them)", args.front());
    return comm::run_as_rank([] {
        if (std::string seeds = env::get("SEEDS"); !seeds.empty()) return train_seeds(parse_seeds(seeds));
        TrainResult r = train_once();
        if (r.stop != TrainStop::Completed) return stopped_status(r);
        print_done(r);
        return 0;
    });
}

PG_COMMAND({.name = "train",
            .summary = "train the configured model on DATA_PATH (baseline train_gpt.py settings)",
            .usage = "pgolf train [--SETTING=value ...]\n\n"
                     "Trains the GPT configured by the challenge's settings (NUM_LAYERS, MODEL_DIM, NUM_HEADS,\n"
                     "NUM_KV_HEADS, MLP_MULT, VOCAB_SIZE, TRAIN_BATCH_TOKENS, TRAIN_SEQ_LEN, ITERATIONS,\n"
                     "WARMUP_STEPS, WARMDOWN_ITERS, MAX_WALLCLOCK_SECONDS, VAL_LOSS_EVERY, learning rates, SEED,\n"
                     "...) on the shards in DATA_PATH with the tokenizer TOKENIZER_PATH. Logs go to the terminal\n"
                     "and to RUN_DIR/train.log, metrics to RUN_DIR/metrics.jsonl. SEEDS=1337,42,2025 (or\n"
                     "--seeds=...) runs once per seed into RUN_DIR/seed<N>. `pgolf env` lists every setting.\n"
                     "PRESET=<name> (--preset=<name>) starts from a record recipe (docs/presets.md);\n"
                     "--print-config prints the resolved settings, where each came from, and the parameter count;\n"
                     "--print-params the model's parameter names (the records' state_dict names) and shapes.\n\n"
                     "Data parallel: start one process per GPU with torchrun, mpirun, srun or\n"
                     "`pgolf launch --nproc N -- train ...` (docs/distributed.md); on the CPU, with mpirun.",
            .run = run_train});

}  // namespace
}  // namespace pg::cli
