// Linear cross-entropy template instances (see linear_ce_problem.h).
#include "ops/cross_entropy/linear_ce_problem.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg::ce {

namespace {
const char* pass_name(Pass p) { return p == Pass::Forward ? "forward" : p == Pass::GradX ? "grad_x" : "grad_w"; }
}  // namespace

double LinearCeProblem::flops(int64_t logit_passes) const {
    double products = pass == Pass::Forward ? 1 : static_cast<double>(logit_passes) + 1;
    return 2.0 * products * static_cast<double>(n) * static_cast<double>(v) * static_cast<double>(d);
}

std::string LinearCeProblem::to_string() const {
    return fmt::format("{} n{} d{} v{} cap{} {}", pass_name(pass), n, d, v, cap, dtype_name(dtype));
}

void LinearCeProblem::validate() const {
    PG_ASSERT(n > 0 && d > 0 && v > 0 && cap >= 0 && is_float(dtype) && is_int(target_dtype),
              "linear cross-entropy problem {}", to_string());
}

bool is_template_op(Op op) { return op == Op::LinearCrossEntropy || op == Op::LinearCrossEntropyGrad; }

LinearCeProblem problem_of(const Graph& g, NodeId id) {
    const Node& n = g[id];
    PG_ASSERT(is_template_op(n.op), "%{} ({}) is no linear cross-entropy op", id, op_name(n.op));
    const Node& x = g[n.inputs[0]];
    LinearCeProblem p;
    p.pass = n.op == Op::LinearCrossEntropy ? Pass::Forward : n.ints[0] == 0 ? Pass::GradX : Pass::GradW;
    p.dtype = x.dtype;
    p.target_dtype = g[n.inputs[2]].dtype;
    p.n = x.shape[0];
    p.d = x.shape[1];
    p.v = g[n.inputs[1]].shape[0];
    p.cap = n.scalar;
    p.validate();
    return p;
}

}  // namespace pg::ce
