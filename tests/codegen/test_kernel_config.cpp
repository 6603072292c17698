// Tunable kernel configurations: the compile driver takes a tuned decision for a workload over
// the heuristic (matmul placement, the CPU thread split and row blocks, the CUDA mapping and GEMM
// tiles), marks the step as tuned, and a configuration that changes generated code changes the
// CUDA source and its entry names (hence the kernel key); PG_FUSION_MAX_RECOMPUTE bounds
// recomputation.
#include <doctest/doctest.h>

#include "base/env.h"
#include "codegen/compile_plan.h"
#include "codegen/workload.h"
#include "graph/build.h"

namespace pg {
namespace {
namespace b = build;

// relu(x @ w) + 1 with x [64, 32], w [32, 96]: M*N*K = 196608, over the CPU's BLAS threshold.
Graph matmul_graph() {
    Graph g;
    NodeId x = b::param(g, "x", {64, 32});
    NodeId w = b::param(g, "w", {32, 96});
    g.set_output("out", b::add(g, b::unary(g, Op::Relu, b::matmul(g, x, w)), 1.0));
    return g;
}

const PlanStep& first_of(const ExecPlan& p, PlanStep::Kind kind) {
    for (const PlanStep& st : p.steps)
        if (st.kind == kind) return st;
    FAIL("no step of that kind");
    return p.steps.front();
}

}  // namespace

TEST_CASE("tuning: a tuned matmul placement overrides the BLAS threshold") {
    Graph g = matmul_graph();
    ExecPlan heuristic = compile_plan(g, cpu_target());
    REQUIRE(heuristic.count(KernelKind::Gemm) == 1);
    const PlanStep& gemm = first_of(heuristic, PlanStep::Kind::Gemm);
    CHECK(gemm.workload == "gemm f32 64x96x32 batch 1 nn lda 32 ldb 96");
    CHECK(config_string(gemm.config) == "heuristic");
    CHECK_FALSE(gemm.tuned);

    auto tuned = std::make_shared<TunedDecisions>();
    tuned->matmul_on_library["matmul f32 [64,32]x[32,96] nn"] = false;
    Target t = cpu_target();
    t.tuned = tuned;
    ExecPlan generated = compile_plan(g, t);
    CHECK(generated.count(KernelKind::Gemm) == 0);
    CHECK(t.to_string().find("tuned(0 kernels, 1 matmuls)") != std::string::npos);
}

TEST_CASE("tuning: a matmul's workload names its operands' layout, so a placement tuned on contiguous operands "
          "is not applied to a transposed one") {
    Graph g;
    NodeId x = b::param(g, "x", {64, 32});
    NodeId w = b::param(g, "w", {96, 32});  // a weight stored [out, in], read transposed
    g.set_output("out", b::matmul(g, x, b::transpose(g, w, 0, 1)));
    ExecPlan p = compile_plan(g, cpu_target());
    std::string key;
    for (NodeId i = 0; i < p.graph.size(); ++i)
        if (p.graph[i].op == Op::Matmul) key = matmul_workload(p.graph, i);
    CHECK(key == "matmul f32 [64,32]x[32,96] nt");
    auto tuned = std::make_shared<TunedDecisions>();
    tuned->matmul_on_library["matmul f32 [64,32]x[32,96] nn"] = false;
    Target t = cpu_target();
    t.tuned = tuned;
    CHECK(compile_plan(g, t).count(KernelKind::Gemm) == 1);
    tuned->matmul_on_library[key] = false;
    CHECK(compile_plan(g, t).count(KernelKind::Gemm) == 0);
}

TEST_CASE("tuning: CPU thread splits and row blocks come from the decisions, by workload") {
    Graph g = matmul_graph();
    ExecPlan heuristic = compile_plan(g, cpu_target());
    const PlanStep& loop = first_of(heuristic, PlanStep::Kind::Kernel);
    const PlanStep& gemm = first_of(heuristic, PlanStep::Kind::Gemm);
    CHECK(loop.workload.rfind("loop add f32 [64,96] kir ", 0) == 0);

    auto tuned = std::make_shared<TunedDecisions>();
    tuned->kernels[loop.workload] = CpuLoopConfig{1};
    tuned->kernels[gemm.workload] = CpuGemmConfig{2};
    tuned->kernels["loop exp f32 [1] kir 000000000000"] = CpuLoopConfig{1};  // another workload: ignored
    Target t = cpu_target();
    t.tuned = tuned;
    ExecPlan p = compile_plan(g, t);
    CHECK(config_string(first_of(p, PlanStep::Kind::Kernel).config) == "threads=1");
    CHECK(first_of(p, PlanStep::Kind::Kernel).tuned);
    CHECK(config_string(first_of(p, PlanStep::Kind::Gemm).config) == "row_blocks=2");
    // A decision of another target's kind is not applied.
    tuned->kernels[loop.workload] = cuda::MappingConfig{};
    CHECK_FALSE(first_of(compile_plan(g, t), PlanStep::Kind::Kernel).tuned);
}

TEST_CASE("tuning: a tuned CUDA mapping changes the mapping, the source and the entry names") {
    Graph g;
    NodeId x = b::param(g, "x", {2048, 512});
    g.set_output("out", b::sum(g, x, {1}));
    Target t = cuda_target("sm_90a");
    ExecPlan heuristic = compile_plan(g, t);
    const PlanStep& st = first_of(heuristic, PlanStep::Kind::Kernel);
    CHECK(st.cuda->mapping == "warp points=2048 reduce=512 grid=256x256");
    CHECK(config_string(st.config) == "split32 warp4096 wpts1024 b256 v4");

    cuda::MappingConfig blocks;
    blocks.min_warp_points = 4096;  // 2048 points: a block per point
    auto tuned = std::make_shared<TunedDecisions>();
    tuned->kernels[st.workload] = blocks;
    t.tuned = tuned;
    ExecPlan p = compile_plan(g, t);
    const PlanStep& tuned_step = first_of(p, PlanStep::Kind::Kernel);
    CHECK(tuned_step.cuda->mapping == "block points=2048 reduce=512 grid=2048x256");
    CHECK(tuned_step.cuda->launches[0].entry != st.cuda->launches[0].entry);
    CHECK(tuned_step.cuda->source != st.cuda->source);
}

TEST_CASE("tuning: a tuned GEMM tile configuration is the template instance's") {
    Graph g = matmul_graph();
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    ExecPlan heuristic = compile_plan(g, t);
    const PlanStep& st = first_of(heuristic, PlanStep::Kind::Gemm);
    CHECK(config_string(st.config) == "simt 64x64x16 w2x4 s2");
    gemm::GemmConfig c = std::get<gemm::GemmConfig>(st.config);
    c.stages = 1;
    auto tuned = std::make_shared<TunedDecisions>();
    tuned->kernels[st.workload] = c;
    t.tuned = tuned;
    ExecPlan p = compile_plan(g, t);
    const PlanStep& tuned_step = first_of(p, PlanStep::Kind::Gemm);
    CHECK(tuned_step.cuda->mapping.rfind("gemm simt 64x64x16 w2x4 s1 ", 0) == 0);
    CHECK(tuned_step.cuda->launches[0].entry != st.cuda->launches[0].entry);
}

TEST_CASE("tuning: PG_FUSION_MAX_RECOMPUTE bounds how often cheap arithmetic is recomputed") {
    Graph g;
    NodeId x = b::param(g, "x", {256});
    NodeId y = b::mul(g, x, 2.0);  // read by two materialised outputs: evaluated twice if inlined
    g.set_output("a", b::unary(g, Op::Exp, y));
    g.set_output("b", b::unary(g, Op::Log, y));
    CHECK(compile_plan(g, cpu_target()).count(KernelKind::Loop) == 2);
    env::ScopedOverride once("PG_FUSION_MAX_RECOMPUTE", "1");
    ExecPlan p = compile_plan(g, cpu_target());
    CHECK(p.count(KernelKind::Loop) == 3);
    CHECK(p.target.to_string().find("recompute<=1") != std::string::npos);
}

}  // namespace pg
