// Muon as graph updates (pgolf-spec §3.4, §4.3): Nesterov momentum, optionally MuonEq-R's row
// normalisation, orthogonalisation of the update by Newton–Schulz iterations (the baseline's
// coefficients or Polar Express's) in bf16, the shape correction sqrt(max(1, rows/cols)), then
// p <- p·(1 − lr·wd) − lr·update (decoupled weight decay, 0 by default). The momentum (runtime scalar
// "muon_momentum", warmed up by the trainer) and the learning rate are runtime scalars.
#pragma once
#include <string>
#include <vector>

#include "frontend/module.h"
#include "frontend/optim/ns_coefficients.h"

namespace pg {

struct MuonConfig {
    int backend_steps = 5;
    DType ns_dtype = DType::bf16;  // the baseline runs Newton–Schulz in bf16
    std::vector<NsTriple> coefficients = ns_coefficients("baseline");
    double weight_decay = 0;    // MUON_WD
    bool row_normalize = false;  // MuonEq-R: each row of the update / max(‖row‖, 1e-7) before NS
};

// Orthogonalises g [rows, cols] by Newton–Schulz: X = G/(‖G‖_F + 1e-7) (cast to `dtype` first), transposed when
// rows > cols; `steps` times A = XXᵀ, B = bA + cA², X = aX + BX with iteration i's (a, b, c) from
// `coefficients` (the baseline: (3.4445, −4.7750, 2.0315) every time); transposed back. Computed
// in `dtype`, returned in f32.
Tensor newton_schulz(const Tensor& g, int steps, DType dtype,
                     const std::vector<NsTriple>& coefficients = ns_coefficients("baseline"));

// The name of a param's momentum buffer (optimizer state).
std::string muon_momentum_name(const std::string& param);

// The orthogonalised update of the Nesterov direction u [rows, cols]: MuonEq-R's row
// normalisation when configured, then newton_schulz with the configured steps, dtype and
// coefficients (f32, holding ns_dtype values).
Tensor muon_orthogonalize(const Tensor& u, const MuonConfig& cfg);

// Stores p <- p·(1 − lr·wd) − lr·sqrt(max(1, rows/cols))·o into the param `name` (o: f32, its shape).
void muon_apply(ParamSet& ps, const std::string& name, const Tensor& o, const Tensor& lr, const MuonConfig& cfg);

// Adds Muon updates for the 2-D params `names` with gradients `grads`.
void muon_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                 const std::string& lr_scalar, const MuonConfig& cfg);

}  // namespace pg
