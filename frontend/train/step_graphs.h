// The graphs of the baseline trainer: the training step (forward, autodiff, optional global
// grad-norm clipping, Muon on block matrices, Adam on the embedding and on scalar/control
// tensors, as train_gpt.py splits them) and the evaluation forward pass (per-token losses).
// Batches are int32 ids "ids" / "targets" of shape [rows, seq_len]. Runtime scalars: "step"
// (1-based), "lr.embed", "lr.matrix", "lr.scalar", "muon_momentum".
#pragma once
#include <memory>
#include <string>

#include "frontend/module.h"
#include "frontend/train/hyperparams.h"

namespace pg {

struct ModelGraph {
    std::unique_ptr<Graph> graph;
    std::unique_ptr<ParamSet> params;
};

// rows = sequences per step (all micro-steps of this rank together: their mean losses average to
// the mean over all rows because micro-batches are equal in size).
ModelGraph build_train_step(const Hyperparams& h, int64_t rows);

// The same step as grad_accum micro-steps (memory of one micro-batch): build_micro_step adds each
// micro-batch's gradients / micro_steps into "<param>.grad_acc" (group "gradacc") and outputs its
// loss; build_apply_step applies the optimizer to the accumulated gradients (its "gradacc" params
// are read, never updated: the runner zeroes the accumulators).
ModelGraph build_micro_step(const Hyperparams& h, int64_t rows, int64_t micro_steps);
ModelGraph build_apply_step(const Hyperparams& h);
std::string grad_acc_name(const std::string& param);

// Output "losses": [rows * seq_len] f32 per-token cross-entropy (nats).
ModelGraph build_eval_graph(const GptConfig& cfg, int64_t rows, int64_t seq_len);

}  // namespace pg
