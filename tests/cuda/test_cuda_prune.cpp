// The GPU autotuner's pruning by compile results (NVRTC, no GPU needed): the heuristic's GEMM
// configuration compiles and is kept, one with 128 x 128 x 64 double-buffered MMA tiles (64 KiB of
// tiles, 228 registers per thread) is pruned, and mapping candidates that map
// the kernel as an earlier one did are judged once.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "runtime/tuning/cuda_prune.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {
namespace {
namespace b = build;

const PlanStep& step_of(const ExecPlan& p, PlanStep::Kind kind) {
    for (const PlanStep& st : p.steps)
        if (st.kind == kind) return st;
    FAIL("no such step");
    return p.steps.front();
}

}  // namespace

TEST_CASE("cuda: GEMM candidates are pruned by their compile results") {
    PG_SKIP_UNLESS_NVRTC();
    Graph g;
    NodeId x = b::param(g, "x", {256, 256}, DType::bf16);
    NodeId w = b::param(g, "w", {256, 256}, DType::bf16);
    g.set_output("out", b::matmul(g, x, w));
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    ExecPlan plan = compile_plan(g, t);
    const PlanStep& st = step_of(plan, PlanStep::Kind::Gemm);
    // 128 x 128 bf16 tiles with tile_k 64 in 2 stages: (128 + 128) * 64 * 2 B * 2 = 64 KiB of
    // tiles; ptxas needs 228 registers per thread: one 256-thread block per SM at most.
    gemm::GemmConfig big{gemm::GemmKind::Mma, 128, 128, 64, 2, 4, 2};
    std::vector<KernelConfig> space = {st.config, big};
    std::vector<CudaCandidate> c = prune_by_compile(st, space, "sm_90a");
    REQUIRE(c.size() == 2);
    INFO(c[0].why, " / ", c[1].why);
    CHECK(c[0].kept);
    CHECK(c[0].registers > 0);
    CHECK_FALSE(c[1].kept);
    CHECK(cuda_search_space(st).size() > 10);
}

TEST_CASE("cuda: 4 stages of 128 x 128 x 32 MMA tiles compile for sm_90a and sm_80 with 64 KiB of dynamic shared memory") {
    PG_SKIP_UNLESS_NVRTC();
    Graph g;
    NodeId x = b::param(g, "x", {512, 256}, DType::bf16);
    NodeId w = b::param(g, "w", {512, 256}, DType::bf16);
    g.set_output("out", b::matmul(g, b::transpose(g, x, 0, 1), w));  // the dW order: A not k-contiguous
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    ExecPlan plan = compile_plan(g, t);
    const PlanStep& st = step_of(plan, PlanStep::Kind::Gemm);
    const gemm::GemmConfig four{gemm::GemmKind::Mma, 128, 128, 32, 2, 4, 4};
    for (const std::string arch : {"sm_90a", "sm_80"}) {
        std::vector<CudaCandidate> c = prune_by_compile(st, {KernelConfig{four}}, arch);
        REQUIRE(c.size() == 1);
        INFO(arch, ": ", c[0].why, ", ", c[0].registers, " registers");
        CHECK(c[0].spill_bytes == 0);
        CHECK(c[0].shared_bytes == 64 * 1024);  // all of it dynamic: no static tiles left
        CHECK(c[0].why.find("nvrtc") == std::string::npos);
        CHECK(c[0].why.find("shared") == std::string::npos);
    }
}

TEST_CASE("cuda: split-K GEMMs (product and reduction entries) compile for sm_90a and sm_80 without spills") {
    PG_SKIP_UNLESS_NVRTC();
    Graph g;  // the baseline's dW = X^T dY of the MLP projection at 8,192 tokens
    NodeId x = b::param(g, "x", {8192, 512}, DType::bf16);
    NodeId dy = b::param(g, "dy", {8192, 1024}, DType::bf16);
    g.set_output("dw", b::matmul(g, b::transpose(g, x, 0, 1), dy));
    Target t = cuda_target("sm_90a");
    ExecPlan plan = compile_plan(g, t);
    const PlanStep& st = step_of(plan, PlanStep::Kind::Gemm);
    CHECK(std::get<gemm::GemmConfig>(st.config).split_k == 2);  // 32 tiles, 8,192 / 4,096 = 2 slices
    gemm::GemmConfig split8 = std::get<gemm::GemmConfig>(st.config);
    split8.split_k = 8;
    for (const std::string arch : {"sm_90a", "sm_80"}) {
        std::vector<CudaCandidate> c = prune_by_compile(st, {st.config, KernelConfig{split8}}, arch);
        REQUIRE(c.size() == 2);
        for (const CudaCandidate& one : c) {
            INFO(arch, " ", config_string(one.config), ": ", one.why, ", ", one.registers, " registers");
            CHECK(one.spill_bytes == 0);
            CHECK(one.why.find("nvrtc") == std::string::npos);
        }
    }
    // The search space varies the slices of the heuristic's tiles.
    int splits = 0;
    for (const KernelConfig& c : cuda_search_space(st)) splits += std::get<gemm::GemmConfig>(c).split_k != 2;
    CHECK(splits == 4);  // 1, 4, 8, 16
}

TEST_CASE("cuda: mapping candidates with equal sources compile once") {
    PG_SKIP_UNLESS_NVRTC();
    Graph g;
    NodeId x = b::param(g, "x", {64, 256});
    g.set_output("out", b::unary(g, Op::Exp, x));  // elementwise: the warp/block switch changes nothing
    ExecPlan plan = compile_plan(g, cuda_target("sm_90a"));
    const PlanStep& st = step_of(plan, PlanStep::Kind::Kernel);
    cuda::MappingConfig other_switch;
    other_switch.min_warp_points = 4096;
    std::vector<CudaCandidate> c = prune_by_compile(st, {st.config, KernelConfig{other_switch}}, "sm_90a");
    REQUIRE(c.size() == 2);
    CHECK(c[0].kept);
    CHECK_FALSE(c[1].kept);
    CHECK(c[1].why == "same kernel as an earlier candidate");
}

}  // namespace pg
