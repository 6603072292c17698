// Attention template instances (see attention_problem.h).
#include "ops/attention/attention_problem.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg::attn {

namespace {
const char* pass_name(Pass p) { return p == Pass::Forward ? "forward" : p == Pass::GradQ ? "grad_q" : "grad_kv"; }
}  // namespace

double AttentionProblem::flops() const {
    double products = pass == Pass::Forward ? 2 : pass == Pass::GradQ ? 3 : 4;
    double causal_pairs = static_cast<double>(t) * static_cast<double>(t + 1) / 2;
    return 2.0 * products * static_cast<double>(b * h) * causal_pairs * static_cast<double>(d);
}

std::string AttentionProblem::to_string() const {
    return fmt::format("{} b{} h{}/{} t{} d{} {}{}", pass_name(pass), b, h, hkv, t, d, dtype_name(dtype),
                       doc_mask ? " docs" : "");
}

void AttentionProblem::validate() const {
    PG_ASSERT(b > 0 && h > 0 && hkv > 0 && t > 0 && d > 0 && h % hkv == 0, "attention problem {}", to_string());
    PG_ASSERT(has_output[0] || (output_slots() == 2 && has_output[1]), "attention problem {} writes nothing",
              to_string());
}

bool is_template_op(Op op) { return op == Op::Attention || op == Op::AttentionLse || op == Op::AttentionGrad; }

Pass pass_of(const Node& n) {
    if (n.op != Op::AttentionGrad) return Pass::Forward;
    return n.ints[0] == 0 ? Pass::GradQ : Pass::GradKV;
}

int slot_of(const Node& n) {
    if (n.op == Op::Attention) return 0;
    if (n.op == Op::AttentionLse) return 1;
    return n.ints[0] == 2 ? 1 : 0;
}

AttentionProblem problem_of(const Graph& g, NodeId id) {
    const Node& n = g[id];
    PG_ASSERT(is_template_op(n.op), "%{} ({}) is no attention template op", id, op_name(n.op));
    const Shape& q = g[n.inputs[0]].shape;
    AttentionProblem p;
    p.pass = pass_of(n);
    p.dtype = g[n.inputs[0]].dtype;
    p.b = q[0];
    p.h = q[1];
    p.hkv = g[n.inputs[1]].shape[1];
    p.t = q[2];
    p.d = q[3];
    p.scale = n.scalar;
    p.doc_mask = n.inputs.size() == (n.op == Op::AttentionGrad ? 7u : 4u);
    p.has_output = {false, false};
    p.has_output[static_cast<size_t>(slot_of(n))] = true;
    return p;
}

std::vector<void*> slot_buffers(const AttentionProblem& p, const std::vector<void*>& packed) {
    std::vector<void*> out;
    size_t next = 0;
    for (int s = 0; s < p.output_slots(); ++s) out.push_back(p.has_output[static_cast<size_t>(s)] ? packed.at(next++) : nullptr);
    while (next < packed.size()) out.push_back(packed[next++]);
    PG_ASSERT(static_cast<int>(out.size()) == p.output_slots() + p.input_count(), "attention {}: {} buffers",
              p.to_string(), packed.size());
    return out;
}

}  // namespace pg::attn
