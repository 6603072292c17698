// The CPU plan of a GPT training micro-step with the flash-attention templates: no buffer holds
// [T, T] scores (the reference decomposition, PG_FUSION=0, does), the forward's out and
// log-sum-exp share one kernel as do dk and dv, and the arena shrinks; nodes of different passes
// (operands or scale) never share one.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "frontend/train/step_graphs.h"
#include "graph/build.h"
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

}  // namespace

TEST_CASE("attention plan: the CPU micro-step at seq 256 has no [T, T] buffer with flash attention") {
    Hyperparams h = testing::tiny_training(4);
    h.train_seq_len = 256;
    h.train_batch_tokens = 8 * 4 * 256;
    TrainingGraphs tg = build_training_graphs(h);
    const Graph& g = *tg.micro.graph;
    // 4 rows x 2 kv heads x 256 x 256 grouped scores = 524,288 elements; the largest activation
    // otherwise is the MLP's hidden [1024, 128] (131,072), the logits [1024, 96] smaller still.
    const int64_t scores = 4 * 2 * 256 * 256;
    Target flash = cpu_target();
    flash.fusion = true;
    flash.attention.dtypes = {DType::f32};
    Target reference = flash;
    reference.attention = {};
    ExecPlan with = compile_plan(g, flash);
    ExecPlan without = compile_plan(g, reference);
    CHECK(largest_buffer(with) < scores);
    CHECK(largest_buffer(without) >= scores);
    CHECK(with.arena_bytes < without.arena_bytes);
    // Per layer (2): one forward (out and lse together), one dq and one dk/dv pass.
    CHECK(with.count(PlanStep::Kind::Attention) == 2 * 3);
    for (const PlanStep& st : with.steps) {
        if (st.kind != PlanStep::Kind::Attention) continue;
        INFO(st.name, " ", st.attention->to_string());
        bool both = st.attention->has_output[0] && st.attention->has_output[1];
        CHECK((st.attention->pass == attn::Pass::GradQ || both));
    }
    Target unfused = flash;
    unfused.fusion = false;
    CHECK(compile_plan(g, unfused).count(PlanStep::Kind::Attention) == 0);  // PG_FUSION=0: the reference
}

TEST_CASE("attention plan: only nodes of one pass, operands and scale share a kernel") {
    namespace b = build;
    Graph g;
    NodeId q = b::input(g, "q", {1, 2, 9, 4}, DType::f32), k = b::input(g, "k", {1, 1, 9, 4}, DType::f32);
    NodeId v = b::input(g, "v", {1, 1, 9, 4}, DType::f32);
    g.set_output("a", b::attention(g, q, k, v, 0.5));
    g.set_output("lse", b::attention_lse(g, q, k, v, 0.5));
    g.set_output("b", b::attention(g, q, k, v, 0.25));  // another scale: another pass
    g.set_output("c", b::attention(g, q, v, k, 0.5));   // other operands: another pass
    Target t = cpu_target();
    t.fusion = true;
    t.attention.dtypes = {DType::f32};
    ExecPlan p = compile_plan(g, t);
    CHECK(p.count(PlanStep::Kind::Attention) == 3);
}
