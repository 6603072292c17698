// Every CUDA kernel of the tiny and of the baseline GPT training step (forward, backward, Adam)
// compiles with NVRTC for sm_90a (H100) and sm_80 (A100), with ptxas' register report for every
// launch. NVRTC needs no GPU; the kernel cache makes reruns cheap (a cached cubin is one NVRTC
// produced for the identical source, arch and options).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "codegen/passes.h"
#include "frontend/train_step.h"
#include "runtime/cuda/cuda_compile_plan.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {
namespace {

void check_compiles(const Graph& g, const std::string& arch, bool fusion, const std::string& what) {
    ScheduleOptions so = cuda_schedule_options();
    so.fusion = fusion;
    CompiledCudaPlan plan = compile_cuda_plan(g, so, {arch, true});
    const CudaCompileStats& st = plan.program->stats();
    MESSAGE(what, ": ", to_string(st));
    REQUIRE(st.kernels == static_cast<int>(plan.kernels.size()));
    CHECK(st.kernels > 0);
    CHECK(st.arch == arch);
    int gemms = 0, spilling = 0;
    for (size_t i = 0; i < plan.kernels.size(); ++i) {
        const CudaPlannedKernel& k = plan.kernels[i];
        const CudaKernelReport& r = plan.program->report(i);
        INFO("kernel ", k.source.name, " (", k.source.mapping, ")");
        REQUIRE(r.entries.size() == k.source.launches.size());
        for (const CudaEntryReport& e : r.entries) {
            CHECK(e.registers > 0);
            CHECK(e.registers <= 255);
            spilling += (e.spill_stores + e.spill_loads) > 0;
        }
        CHECK(!plan.program->cubin(i).empty());
        gemms += k.kind == KernelKind::Blas;
    }
    CHECK(gemms > 0);
    if (spilling) MESSAGE(what, ": ", spilling, " launches spill registers");
}

}  // namespace

TEST_CASE("cuda: every kernel of the tiny GPT training step compiles for sm_90a and sm_80, fused and unfused") {
    PG_SKIP_UNLESS_NVRTC();
    TrainStepGraph step = build_gpt_adam_step(testing::tiny_gpt(), 4, 32, AdamConfig{});
    Graph g = run_passes(*step.graph);
    for (const char* arch : {"sm_90a", "sm_80"}) {
        check_compiles(g, arch, true, fmt::format("tiny fused {}", arch));
        check_compiles(g, arch, false, fmt::format("tiny unfused {}", arch));
    }
}

TEST_CASE("cuda: every kernel of the baseline GPT training step (9 x 512, batch 64 x 1024) compiles for sm_90a and sm_80") {
    PG_SKIP_UNLESS_NVRTC();
    TrainStepGraph step = build_gpt_adam_step(testing::baseline_gpt(), 64, 1024, AdamConfig{});
    Graph g = run_passes(*step.graph);
    for (const char* arch : {"sm_90a", "sm_80"}) check_compiles(g, arch, true, fmt::format("baseline {}", arch));
}

}  // namespace pg
