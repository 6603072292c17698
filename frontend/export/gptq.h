// Full-Hessian GPTQ (Frantar et al.; pgolf-spec §4.5) for one linear layer's weight W [rows, cols]
// given H = mean over calibration batches of XᵀX [cols, cols] of its inputs X:
//   dead columns (H_jj = 0): H_jj = 1 and W[:, j] = 0; damping H += damp · mean(diag H) · I;
//   act-order: columns permuted by descending diag(H); U = upper Cholesky factor of H⁻¹ (LAPACK
//   dpotrf/dpotri/dpotrf through LAPACKE); row scales s from the format's clip rule on the
//   original W (stored fp16); then columns in blocks of `block`: q_j = clamp(round(w_j / s), -R, R),
//   err = (w_j - q_j s) / U_jj, the rest of the block updated by -err · U_j,j:, and after each block
//   W[:, i2:] -= Err · U[i1:i2, i2:] (BLAS dgemm); the codes are un-permuted at the end.
// Works per row only (a per-group format is an error naming the tensor).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/export/quantize.h"

namespace pg::io {

// A linear layer's input second moment: sum of XᵀX over `rows` input rows (a token each).
struct Hessian {
    int64_t dim = 0;
    std::vector<double> sum;  // dim × dim, row-major
    int64_t rows = 0;         // tokens accumulated
};
// Keyed by the weight's name ("blocks.0.attn.c_q.weight").
using HessianMap = std::map<std::string, Hessian>;

struct GptqConfig {
    bool enabled = false;
    int64_t block = 128;  // columns per lazy-update block
    double damp = 0.01;   // fraction of mean(diag H) added to the diagonal
    int64_t batches = 16; // calibration batches (GPTQ_BATCHES)
    // GPTQ_CALIB=selfgen: calibrate on text the model generates itself (frontend/train/
    // calibration_sampler.h) instead of GPTQ_BATCHES training batches (GPTQ_CALIB=train).
    bool self_generated = false;
};

// GPTQ=1, GPTQ_BLOCK, GPTQ_DAMP, GPTQ_BATCHES, GPTQ_CALIB.
GptqConfig gptq_config_from_settings();

// Quantizes `w` (2-D float) with GPTQ. Throws pg::Error naming the tensor for a shape that does
// not match H, a per-group format, non-finite weights, or a Hessian LAPACK cannot factor.
QuantizedTensor gptq_quantize(std::string_view name, const HostTensor& w, const Hessian& h, const QuantFormat& f,
                              const GptqConfig& cfg);

// Every large 2-D matrix with a Hessian and an integer format is replaced by its GPTQ
// quantization (the rest of `model` as quantize_model made it).
void apply_gptq(QuantizedModel& model, const TensorMap& weights, const QuantPlan& plan, const HessianMap& hessians,
                const GptqConfig& cfg);

}  // namespace pg::io
