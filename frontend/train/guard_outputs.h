// What the non-finite guard adds to the micro-step graph (frontend/train/step_graphs.cpp), only
// when asked for, so that the default graph is unchanged:
//   - PG_NAN_CHECK=grad: output "grad_sq", the squared global norm of the gradient accumulators
//     after the micro-step, read with the last micro-step's loss (no extra sync);
//   - PG_INJECT_NAN=<step>: the runtime scalar "nan_inject" (0, or NaN at that step) planted as
//     loss * (1 + nan_inject), so that the loss and every gradient of that step go NaN as after a
//     real overflow in the forward pass. x * (1 + 0) is x exactly, so other steps are unchanged.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "frontend/tensor.h"

namespace pg {

inline constexpr std::string_view kGradSquareOutput = "grad_sq";
inline constexpr std::string_view kNanInjectScalar = "nan_inject";

// The PG_INJECT_NAN step (1-based, as the log counts steps), or 0 when off.
int64_t nan_inject_step();

// `loss`, with the planted NaN when PG_INJECT_NAN is on.
Tensor plant_nan_scalar(Graph& g, const Tensor& loss);

// Outputs the squared global norm of `accumulators` when PG_NAN_CHECK=grad.
void add_grad_square_output(Graph& g, const std::vector<Tensor>& accumulators);

}  // namespace pg
