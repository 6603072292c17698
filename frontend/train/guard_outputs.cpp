// The guard's additions to the micro-step graph (see guard_outputs.h).
#include "frontend/train/guard_outputs.h"

#include <string>

#include "base/env.h"
#include "runtime/nan_check.h"

namespace pg {

PG_KNOB({.name = "PG_INJECT_NAN", .kind = env::KnobKind::Int, .default_value = "0",
         .doc = "test the non-finite guard: make step N's loss and gradients NaN (0 = off)"});

int64_t nan_inject_step() { return env::get_int("PG_INJECT_NAN"); }

Tensor plant_nan_scalar(Graph& g, const Tensor& loss) {
    if (nan_inject_step() <= 0) return loss;
    return loss * (runtime_scalar(g, std::string(kNanInjectScalar)) + 1.0);
}

void add_grad_square_output(Graph& g, const std::vector<Tensor>& accumulators) {
    if (nan_check_mode() != NanCheck::Grad || accumulators.empty()) return;
    Tensor total;
    for (const Tensor& a : accumulators) {
        Tensor s = a.square().sum_all();
        total = total.defined() ? total + s : s;
    }
    g.set_output(std::string(kGradSquareOutput), total.id());
}

}  // namespace pg
