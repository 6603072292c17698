// Training hyperparameters under the names and defaults of the challenge's train_gpt.py
// (pgolf-spec §3.1), read from the knob registry (environment or --flags).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontend/models/gpt.h"
#include "frontend/train/recipe_settings.h"

namespace pg {

struct Hyperparams {
    GptConfig model;
    RecipeSettings recipe;  // the records' optimizer, schedule, averaging and QAT settings
    int64_t train_batch_tokens = 524288, train_seq_len = 1024, iterations = 20000;
    int64_t warmup_steps = 20, warmdown_iters = 1200, val_loss_every = 1000, val_batch_size = 524288;
    int64_t train_log_every = 200;
    double max_wallclock_seconds = 600;
    double tied_embed_lr = 0.05, matrix_lr = 0.04, scalar_lr = 0.04;
    double muon_momentum = 0.95, muon_momentum_warmup_start = 0.85;
    int64_t muon_momentum_warmup_steps = 500, muon_backend_steps = 5;
    double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8, grad_clip_norm = 0;
    int64_t seed = 1337;
    int world_size = 1;  // grad_accum_steps = 8 / world_size, as the baseline
    int rank = 0;        // this process's rank in a distributed launch
    // How Muon is spread over the ranks (PG_MUON_SHARDING): "records" (parallel Muon: banks
    // reduce-scattered), "baseline" (matrices dealt round-robin) or "off"; "off" in one process.
    std::string muon_sharding = "off";
    std::string run_id, run_dir;
    std::string resume_from;       // checkpoint to continue from ("" = fresh start)
    int64_t checkpoint_every = 0;  // also write <run_dir>/checkpoint_step<N>.ckpt every N steps

    int64_t grad_accum_steps() const { return 8 / world_size; }
    // Sequences per step on this rank (all micro-steps together).
    int64_t rows_per_step() const;
    // Validation sequences per batch on this rank (VAL_BATCH_SIZE / (W * accum) / S).
    int64_t val_rows() const;
};

// Reads and validates every knob; a bad combination (batch not divisible, heads not dividing
// the width, ...) throws pg::Error naming the settings.
Hyperparams read_hyperparams();

// The model-defining settings (VOCAB_SIZE, NUM_LAYERS, ...), as stored in checkpoints.
const std::vector<std::string>& model_knob_names();

// Every training setting (the challenge's names, not the PG_ developer knobs) and the model-defining
// PG_ knobs, by name, with its value: stored in checkpoints and in the run's metrics.
std::map<std::string, std::string> run_settings();

// The settings that name or place a run but do not change what it computes (SEED, RUN_ID, RUN_DIR,
// logging intervals, ...): two runs of one configuration differ only in these.
const std::vector<std::string>& run_identity_knob_names();

// "NAME=value" lines of every training setting, for the log.
std::string describe(const Hyperparams& h);

}  // namespace pg
