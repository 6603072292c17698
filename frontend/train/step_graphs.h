// The graphs of the trainer: the training step (forward, autodiff, optional global grad-norm
// clipping, Muon on block matrices, Adam on the embedding and on scalar/control tensors, as
// train_gpt.py splits them) and the evaluation forward pass (per-token losses).
// Batches are int32 ids "ids" / "targets" of shape [rows, seq_len]. Runtime scalars: "step"
// (1-based), "lr.embed", "lr.matrix", "lr.scalar", "muon_momentum".
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "frontend/module.h"
#include "frontend/train/hyperparams.h"

namespace pg {

struct ModelGraph {
    std::unique_ptr<Graph> graph;
    std::unique_ptr<ParamSet> params;
};

// The one definition of the training step (pgolf train, pgolf compile, the benchmarks and every
// test of "the training step" build it here): grad_accum micro-steps, each over micro_rows
// sequences, then the optimizer. The micro-step graph outputs its mean "loss" and adds its
// gradients / micro_steps into "<param>.grad_acc" (group "gradacc"); the optimizer graph reads the
// accumulators, clips by global norm when GRAD_CLIP_NORM > 0, applies Muon to the block matrices
// and Adam to the rest, and zeroes the accumulators. Both graphs run in one session, over the same
// parameter, state and accumulator buffers. Equal-sized micro-batches make the mean of their mean
// losses the mean over all of the step's sequences, as the baseline's loop over micro-steps.
//
// With WORLD_SIZE > 1, `micro_sync` is the last micro-step of a data-parallel step: the same
// graph whose accumulator updates are AllReduceAvg updates (graph.h), so each rank stores the mean
// over all ranks of its accumulated gradients: DDP's gradient sync, only on the last micro-step.
// The compile driver buckets these all-reduces and issues each as soon as backward has finished
// its gradients (codegen/collective_plan.h).
//
// With parallel Muon (parallel_muon(h): several ranks, PG_MUON_SHARDING=records) the step has a
// third graph, `muon_shard`, run between the micro-steps and the optimizer: micro_sync
// reduce-scatters the banks' gradients instead of all-reducing them, muon_shard runs momentum and
// Newton-Schulz on this rank's share and all-gathers the updates, and the optimizer applies them
// (frontend/optim/muon_bank.h). Its momentum shards are in state_specs, under rank-specific names.
struct TrainingGraphs {
    int64_t micro_steps = 1, micro_rows = 1;
    ModelGraph micro, optimizer;
    ModelGraph micro_sync;  // null graph when WORLD_SIZE == 1 (and PG_COMM=auto)
    // The same two micro-steps for the steps before depth recurrence is switched on
    // (ENABLE_LOOPING_AT > 0 with NUM_LOOPS > 0): each layer once, GptConfig::looping off, over the
    // same parameters and accumulators, so one optimizer graph serves both. Null graphs otherwise.
    ModelGraph micro_preloop, micro_preloop_sync;
    ModelGraph muon_shard;  // null graph unless parallel Muon
    std::vector<ParamSpec> model_specs;  // the weights
    std::vector<ParamSpec> state_specs;  // weights and optimizer state: what a checkpoint holds
};

TrainingGraphs build_training_graphs(const Hyperparams& h);
// Whether the run switches depth recurrence on part way (and so needs the pre-loop micro-steps).
bool loop_switch_enabled(const Hyperparams& h);

// Whether the step runs parallel Muon: several ranks and PG_MUON_SHARDING=records.
bool parallel_muon(const Hyperparams& h);

// torch.nn.utils.clip_grad_norm_: g *= min(1, max_norm / (‖g‖ + 1e-6)) over all grads at once.
std::vector<Tensor> clip_by_global_norm(Graph& g, const std::vector<Tensor>& grads, double max_norm);
std::string grad_acc_name(const std::string& param);

// Output "losses": [rows * seq_len] f32 per-token cross-entropy (nats); with_log_probs adds
// "log_probs": [rows * seq_len, vocab] f32, the model's whole distribution at every position (for
// the evaluation methods that reweight it, frontend/eval/target_scorer.h).
// A new graph and its parameter set with the inputs "ids" and "targets" [rows, seq_len] i32: the
// start of every step graph over token windows (evaluation, test-time training, adapters).
struct WindowStep {
    ModelGraph m;
    Tensor ids, targets;
};
WindowStep window_step(int64_t rows, int64_t seq_len);

ModelGraph build_eval_graph(const GptConfig& cfg, int64_t rows, int64_t seq_len, bool with_log_probs = false);

}  // namespace pg
