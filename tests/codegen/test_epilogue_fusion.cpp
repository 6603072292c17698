// GEMM epilogue fusion in CUDA plans (codegen/epilogue_fusion.h) on the graph of
// tests/support/epilogue_case.h: which elementwise kernels join which GEMM, which products and
// members are stored, what the rendered template and the performance model make of it, and that
// the CPU plan (OpenBLAS, no epilogue) and PG_GEMM_EPILOGUE=0 keep the kernels apart.
#include <doctest/doctest.h>

#include <algorithm>

#include "codegen/compile_plan.h"
#include "codegen/perf_model.h"
#include "tests/support/epilogue_case.h"

using namespace pg;

namespace {

// The positions of the plan's Gemm kernels (kernel k is step k).
std::vector<size_t> gemm_kernels(const ExecPlan& p) {
    std::vector<size_t> out;
    for (size_t k = 0; k < p.schedule.kernels.size(); ++k)
        if (p.schedule.kernels[k].kind == KernelKind::Gemm) out.push_back(k);
    return out;
}

bool has_buffer(const PlanStep& st, NodeId id) { return std::find(st.buffers.begin(), st.buffers.end(), id) != st.buffers.end(); }

}  // namespace

TEST_CASE("epilogue fusion: tanh and its square, a scaled residual add and a gradient accumulation join their GEMMs; unread products are not stored") {
    Target t = cuda_target("sm_90a");
    REQUIRE(t.gemm_epilogues);  // PG_GEMM_EPILOGUE's default
    ExecPlan p = compile_plan(testing::epilogue_case(DType::bf16), t);
    std::vector<size_t> gemms = gemm_kernels(p);
    REQUIRE(gemms.size() == 3);
    const ScheduledKernel &h = p.schedule.kernels[gemms[0]], &y = p.schedule.kernels[gemms[1]],
                          &d = p.schedule.kernels[gemms[2]];
    // h: tanh(h), then its square; only the square is read elsewhere.
    REQUIRE(h.epilogue.size() == 2);
    CHECK(h.epilogue[1] == p.output_node("sq"));
    CHECK(h.unstored == std::vector<NodeId>{h.root, h.epilogue[0]});
    CHECK(p.arena_offset[h.root] < 0);
    CHECK(p.arena_offset[h.epilogue[0]] < 0);
    CHECK(p.arena_offset[h.epilogue[1]] >= 0);
    const PlanStep& hs = p.steps[gemms[0]];
    CHECK(!hs.stores_product);
    CHECK(!has_buffer(hs, h.root));
    CHECK(has_buffer(hs, h.epilogue[1]));
    CHECK(hs.cuda->source.find("STORE_C = false") != std::string::npos);
    // y: the residual add joins; the transposed read does not (another element), so y is stored.
    CHECK(y.epilogue == std::vector<NodeId>{p.output_node("z")});
    CHECK(y.unstored.empty());
    CHECK(p.arena_offset[y.root] >= 0);
    CHECK(p.steps[gemms[1]].cuda->source.find("STORE_C = true") != std::string::npos);
    // d: the accumulation joins and d itself is never stored.
    CHECK(d.epilogue == std::vector<NodeId>{p.output_node("acc")});
    CHECK(d.unstored == std::vector<NodeId>{d.root});
    CHECK(describe(p.graph, p.schedule, false).find("4 fused into GEMM epilogues") != std::string::npos);

    // Apart: four more loop kernels (tanh, its square, the add, the accumulation) and their launches;
    // the model's bytes drop by at least the two unstored products written and read back.
    Target apart = t;
    apart.gemm_epilogues = false;
    ExecPlan q = compile_plan(testing::epilogue_case(DType::bf16), apart);
    CHECK(q.count(KernelKind::Loop) == p.count(KernelKind::Loop) + 4);
    for (const ScheduledKernel& k : q.schedule.kernels) CHECK(k.epilogue.empty());
    StepEstimate fused = estimate_plan(p, gpu_peaks("h100")), unfused = estimate_plan(q, gpu_peaks("h100"));
    CHECK(fused.launches == unfused.launches - 4);
    CHECK(fused.bytes <= unfused.bytes - 2.0 * (70 * 96 + 64 * 64) * 2);
}

TEST_CASE("epilogue fusion: none on the CPU, where OpenBLAS computes the products") {
    ExecPlan p = compile_plan(testing::epilogue_case(DType::f32), cpu_target());
    REQUIRE(p.count(KernelKind::Gemm) == 3);
    for (const ScheduledKernel& k : p.schedule.kernels) CHECK(k.epilogue.empty());
}
