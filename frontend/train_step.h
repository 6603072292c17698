// A whole training step as one graph: the model's mean loss, its gradients (autodiff) and the
// optimizer updates, with output "loss". Learning rates ("lr.<group>") and "step" are runtime
// scalars.
#pragma once
#include <memory>

#include "frontend/models/gpt.h"
#include "frontend/optim/adam.h"

namespace pg {

struct TrainStepGraph {
    std::unique_ptr<Graph> graph;
    std::unique_ptr<ParamSet> params;
};

// The GPT step with Adam on every parameter group ("embed", "matrix", "scalar"), batch [B, T]
// of i64 inputs "ids" and "targets".
TrainStepGraph build_gpt_adam_step(const GptConfig& cfg, int64_t batch, int64_t seq_len, const AdamConfig& adam);

}  // namespace pg
