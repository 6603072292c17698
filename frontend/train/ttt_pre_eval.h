// Pre-quantisation AdamW test-time training on the validation set, the illegal form of the
// PR #1376 -> #1423 -> #1539 lineage (method ttt_pre_eval, NON_RECORD only: it trains on the
// validation tokens before scoring them). As those records' `run_prequant_ttt`: the first
// PREQUANT_TTT_FREEZE_BLOCKS blocks frozen, every other weight trained with AdamW (torch's
// defaults: betas 0.9 / 0.999, weight decay 0; eps PREQUANT_TTT_EPS) for PREQUANT_TTT_EPOCHS
// passes over the stream cut into consecutive sequences of seq_len tokens (starts 0, S, 2S, ...
// while start < N - 1 - S, targets one further), PREQUANT_TTT_BATCH_SEQS sequences per step (the
// records: one per rank and step), the mean loss of the step's tokens, the learning rate a cosine
// from PREQUANT_TTT_LR towards PREQUANT_TTT_MIN_LR (torch's CosineAnnealingLR, stepped after every
// optimizer step, T_max = the number of steps). The records set T_max = epochs * floor((N-1)/S),
// which is the number of steps at one sequence per step except when S divides N-1 (then one more
// per epoch than they take); here it is always the steps taken.
#pragma once
#include <cstdint>
#include <span>

#include "frontend/optim/adam.h"
#include "frontend/train/step_graphs.h"

namespace pg {

class Session;

struct PreEvalTttConfig {
    int64_t epochs = 6;
    double lr = 5e-4, min_lr = 5e-5;
    int64_t freeze_blocks = 2;
    int64_t batch_seqs = 1;
    AdamConfig adam{.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0};
};

// From the PREQUANT_TTT_* settings; pg::Error naming a bad one.
PreEvalTttConfig pre_eval_ttt_config_from_settings();

// The learning rate of step `step` (0-based) of `steps`: min + (lr - min) (1 + cos(pi step / steps)) / 2.
double pre_eval_ttt_lr(const PreEvalTttConfig& cfg, int64_t step, int64_t steps);

// Trains the session's model weights (those of `model`, already set) on `stream`; a stream too
// short for one step is a pg::Error naming PREQUANT_TTT_BATCH_SEQS.
void train_pre_eval_ttt(Session& session, const GptConfig& model, int64_t seq_len, std::span<const uint16_t> stream,
                        const PreEvalTttConfig& cfg);

}  // namespace pg
