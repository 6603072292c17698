// Chunked full-model SGD test-time training (spec 2.5 method 2, PR #461 and the records after it),
// score-first and on the backend: a training step compiled over the chunks' sequences in the same
// session as the Evaluator, so that both read and write the same weight buffers (no weight leaves
// the device). For each chunk of frontend/eval/ttt_chunks.h: score its windows with the current
// weights, then (not after the last chunk) run TTT_EPOCHS SGD-with-momentum steps on its
// sequences, every weight outside the first TTT_FREEZE_BLOCKS blocks trained, gradients clipped to
// a global norm of TTT_GRAD_CLIP, lr cosine over chunks from TTT_LR. Adaptation persists across
// chunks; momentum starts at zero.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/window_plan.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"

namespace pg {

class Evaluator;
class Session;

struct TttSgdConfig {
    int64_t chunk_tokens = 32768;
    int64_t epochs = 3;
    double lr = 0.002, momentum = 0.9;
    int64_t freeze_blocks = 0;
    double grad_clip = 1.0;  // 0: none
};

// From TTT_CHUNK_TOKENS, TTT_EPOCHS, TTT_LR, TTT_MOMENTUM, TTT_FREEZE_BLOCKS, TTT_GRAD_CLIP.
TttSgdConfig ttt_sgd_config_from_settings();

// The weight-training step of test-time training (this file's SGD, ttt_pre_eval's AdamW): the
// model's mean loss on "ids" / "targets" [rows, seq_len] (output "loss"), its gradients w.r.t.
// every weight outside the first `freeze_blocks` blocks ("blocks.<i>."), and `update` adding the
// optimizer's state updates for those weights (names and gradients in the same order).
using TttUpdate = std::function<void(ParamSet& ps, const std::vector<std::string>& names, std::vector<Tensor> grads)>;
ModelGraph build_ttt_weight_step(const GptConfig& model, int64_t rows, int64_t seq_len, int64_t freeze_blocks,
                                 const TttUpdate& update);

// Copies `count` tokens from stream[first] into ids (from its start) and the tokens one further
// into targets: consecutive sequences of the stream.
void fill_sequences(std::span<const uint16_t> stream, int64_t first, int64_t count, HostTensor& ids,
                    HostTensor& targets);

// Sets the optimizer state of `step` (its group "state": momentum, Adam's moments) to zero.
void zero_optimizer_state(Executable& exe, const ParamSet& step);

// Input "ids" / "targets" [rows, seq_len]; output "loss"; runtime scalar "ttt_lr".
ModelGraph build_ttt_sgd_step(const GptConfig& model, int64_t rows, int64_t seq_len, const TttSgdConfig& cfg);

// The compiled step over the same weights as the session's other graphs: trains on
// `sequences` (<= TTT_CHUNK_TOKENS / seq_len) consecutive sequences of seq_len tokens from
// stream[first_token] (targets one further), `steps` SGD steps at learning rate lr.
class TttSgdTrainer {
public:
    TttSgdTrainer(Session& session, const GptConfig& model, int64_t seq_len, const TttSgdConfig& cfg);
    void train(std::span<const uint16_t> stream, int64_t first_token, int64_t sequences, double lr, int64_t steps);
    void reset_momentum();  // momentum buffers to zero

private:
    int64_t rows_, seq_len_;
    ModelGraph step_;
    std::unique_ptr<Executable> exe_;
    HostTensor ids_, targets_;
};

// Scores every window of `plan` with score-first chunked TTT; `ev` holds the starting weights
// (changed by the training: set them again before evaluating anything else with `ev`).
// on_chunk(chunks done, chunks) after each chunk.
eval::BpbAccumulator evaluate_ttt_sgd(Evaluator& ev, Session& session, const GptConfig& model,
                                      const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                      const eval::ByteLuts& luts, const TttSgdConfig& cfg,
                                      const std::function<void(int64_t, int64_t)>& on_chunk);

}  // namespace pg
