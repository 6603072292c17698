// The plans of a GPT training micro-step with the linear cross-entropy templates: on the CPU and on
// CUDA the tied head's forward, dx and dw are three template passes and no buffer holds the
// [tokens, vocab] logits, which the decomposition (PG_FUSION=0, or PG_FUSED_CE=0) materialises;
// a test-time adapter on the head falls back to the unfused form.
#include <doctest/doctest.h>

#include "base/env.h"

#include "codegen/compile_plan.h"
#include "frontend/nn/layers.h"
#include "frontend/train/step_graphs.h"
#include "tests/support/training_configs.h"

using namespace pg;

namespace {

// The largest intermediate buffer of the plan, in elements.
int64_t largest_buffer(const ExecPlan& p) {
    int64_t most = 0;
    for (NodeId i = 0; i < p.graph.size(); ++i)
        if (p.arena_offset[static_cast<size_t>(i)] >= 0) most = std::max(most, numel(p.graph[i].shape));
    return most;
}

// The tiny GPT with a vocabulary of 2048: the logits [256, 2048] (524,288 elements) are then by
// far the largest activation (the MLP's hidden is [256, 128]).
Hyperparams wide_vocab(DType compute) {
    Hyperparams h = testing::tiny_training(8);
    h.model.vocab_size = 2048;
    h.model.compute_dtype = compute;
    return h;
}

constexpr int64_t kLogits = 8 * 32 * 2048;

// `fused` (fusion on, the target's own templates) against its reference without them.
void check_plans(const Graph& g, Target fused) {
    INFO(fused.to_string());
    fused.fusion = true;
    ExecPlan with = compile_plan(g, fused);
    CHECK(with.count(PlanStep::Kind::LinearCe) == 3);  // forward, dx, dw
    CHECK(largest_buffer(with) < kLogits);
    Target reference = fused;
    reference.linear_ce = {};
    ExecPlan without = compile_plan(g, reference);
    CHECK(without.count(PlanStep::Kind::LinearCe) == 0);
    CHECK(largest_buffer(without) >= kLogits);
    CHECK(with.arena_bytes < without.arena_bytes);
    Target unfused = fused;
    unfused.fusion = false;
    CHECK(compile_plan(g, unfused).count(PlanStep::Kind::LinearCe) == 0);  // PG_FUSION=0: the reference
}

}  // namespace

TEST_CASE("linear ce plan: the micro-step holds no [tokens, vocab] buffer with the templates, CPU and CUDA") {
    env::ScopedOverride fused_ce("PG_FUSED_CE", "1");  // the CPU template too (off by default there)
    // The CPU template computes in f32, the CUDA one in bf16 (the GPU's default compute dtype).
    check_plans(*build_training_graphs(wide_vocab(DType::f32)).micro.graph, cpu_target());
    check_plans(*build_training_graphs(wide_vocab(DType::bf16)).micro.graph, cuda_target("sm_90a"));
}

TEST_CASE("linear ce plan: an adapter on the tied head keeps the unfused head") {
    nn::ScopedLinearAdapter adapter([](ParamSet&, const std::string& site, const Tensor& input, int64_t) {
        return site == "tok_emb.weight" ? input.sum({1}).reshape({input.dim(0), 1}) * 0.0 : Tensor();
    });
    TrainingGraphs tg = build_training_graphs(testing::tiny_training());
    int fused = 0, unfused_ce = 0;
    for (NodeId i = 0; i < tg.micro.graph->size(); ++i) {
        fused += (*tg.micro.graph)[i].op == Op::LinearCrossEntropy;
        unfused_ce += (*tg.micro.graph)[i].op == Op::CrossEntropy;
    }
    CHECK(fused == 0);
    CHECK(unfused_ce == 1);
}
