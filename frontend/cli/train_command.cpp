// `pgolf train`: the baseline trainer configured by train_gpt.py's environment variables (or the
// same names as --flags, e.g. --num-layers=4).
#include <fmt/format.h>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/train/trainer.h"

namespace pg::cli {
namespace {

int run_train(std::vector<std::string> args) {
    PG_CHECK(args.empty(), "unexpected argument '{}': settings are --NAME=value flags or environment variables "
             "(`pgolf env` lists them)", args.front());
    Hyperparams h = read_hyperparams();
    TrainResult r = train(h);
    if (r.stop != TrainStop::Completed) {
        fmt::print(stderr, "pgolf train: {}\n", r.stop_message);
        // A stop by signal exits as the shell reports a process killed by it (128 + signal).
        return r.stop == TrainStop::Signal ? 128 + r.stop_signal : 1;
    }
    fmt::print("done: {} steps; val_bpb {:.4f} before export, {:.4f} after the int8+zstd round trip ({} bytes); "
               "run directory {}\n",
               r.steps, r.val_bpb, r.roundtrip_val_bpb, r.artifact_bytes, r.run_dir);
    return 0;
}

PG_COMMAND({.name = "train",
            .summary = "train the configured model on DATA_PATH (baseline train_gpt.py settings)",
            .usage = "pgolf train [--SETTING=value ...]\n\n"
                     "Trains the GPT configured by the challenge's settings (NUM_LAYERS, MODEL_DIM, NUM_HEADS,\n"
                     "NUM_KV_HEADS, MLP_MULT, VOCAB_SIZE, TRAIN_BATCH_TOKENS, TRAIN_SEQ_LEN, ITERATIONS,\n"
                     "WARMUP_STEPS, WARMDOWN_ITERS, MAX_WALLCLOCK_SECONDS, VAL_LOSS_EVERY, learning rates, SEED,\n"
                     "...) on the shards in DATA_PATH with the tokenizer TOKENIZER_PATH. Logs go to the terminal\n"
                     "and to RUN_DIR/train.log. `pgolf env` lists every setting with its default.",
            .run = run_train});

}  // namespace
}  // namespace pg::cli
