// Muon as graph updates (pgolf-spec §3.4): Nesterov momentum, orthogonalisation of the update by
// five Newton–Schulz iterations with the baseline's coefficients in bf16, the shape correction
// sqrt(max(1, rows/cols)), then p <- p - lr * update. The momentum (runtime scalar
// "muon_momentum", warmed up by the trainer) and the learning rate are runtime scalars.
#pragma once
#include <string>
#include <vector>

#include "frontend/module.h"

namespace pg {

struct MuonConfig {
    int backend_steps = 5;
    DType ns_dtype = DType::bf16;  // the baseline runs Newton–Schulz in bf16
};

// Orthogonalises g [rows, cols] by Newton–Schulz: X = G/(‖G‖_F + 1e-7) (cast to `dtype` first), transposed when
// rows > cols; `steps` times A = XXᵀ, B = bA + cA², X = aX + BX with (a, b, c) = (3.4445,
// −4.7750, 2.0315); transposed back. Computed in `dtype`, returned in f32.
Tensor newton_schulz(const Tensor& g, int steps, DType dtype);

// The name of a param's momentum buffer (optimizer state).
std::string muon_momentum_name(const std::string& param);

// Adds Muon updates for the 2-D params `names` with gradients `grads`.
void muon_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                 const std::string& lr_scalar, const MuonConfig& cfg);

}  // namespace pg
