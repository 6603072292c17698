// The training step of test-time adapters over frozen weights (LoRA TTT, SLOT): the model's
// forward pass on [rows, seq_len] windows with an nn::LinearAdapter installed, its per-token
// losses as the output "losses" (computed before the update: scoring and training take one run),
// the loss sum_i losses[i] * loss_weights[i] (input "loss_weights" [rows * seq_len] f32; a zero
// weight keeps a position out of training), and Adam(W) on the adapter's parameters only — the
// model's weights (group "matrix", "scalar", "embed") get no gradient and no update. Runtime
// scalars: "adapter_lr" and Adam's "step".
#pragma once
#include <string>
#include <vector>

#include "frontend/export/safetensors.h"
#include "frontend/nn/layers.h"
#include "frontend/optim/adam.h"
#include "frontend/train/step_graphs.h"

namespace pg {

class Executable;

inline constexpr const char* kAdapterGroup = "adapter";  // ParamSpec group of adapter parameters

// The adapter declares its parameters in group kAdapterGroup.
ModelGraph build_adapter_step(const GptConfig& model, int64_t rows, int64_t seq_len, const nn::LinearAdapter& adapter,
                              const AdamConfig& adam);

// Copies the model's weights (every parameter outside the adapter and its optimizer state) into
// the compiled step; a missing weight is a pg::Error.
void set_model_weights(Executable& exe, const ParamSet& params, const io::TensorMap& weights);

}  // namespace pg
