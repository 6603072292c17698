// The data-parallel micro-step (its gradient accumulators all-reduced in buckets, see
// codegen/collective_plan.h) compiles with NVRTC for sm_90a: the collective steps add no kernel
// and change none, and the plan keeps them between the kernels of the backward pass. The same for
// parallel Muon's graphs (frontend/optim/muon_bank.h): the last micro-step with its bank
// reduce-scatters and the shard graph with its Newton-Schulz and all-gathers.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "frontend/train/step_graphs.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/training_configs.h"

namespace pg {

TEST_CASE("cuda: the training step with its gradient all-reduce compiles for sm_90a") {
    PG_SKIP_UNLESS_NVRTC();
    Hyperparams h = testing::tiny_training();
    h.world_size = 2;
    TrainingGraphs t = build_training_graphs(h);
    REQUIRE(t.micro_sync.graph);
    ExecPlan sync = compile_plan(*t.micro_sync.graph, cuda_target("sm_90a"));
    ExecPlan plain = compile_plan(*t.micro.graph, cuda_target("sm_90a"));
    CHECK(sync.count(PlanStep::Kind::Collective) >= 1);
    CHECK(sync.cuda_sources().size() == plain.cuda_sources().size());
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(sync.cuda_sources(), {"sm_90a", true});
    CHECK(program->stats().kernels == static_cast<int>(sync.cuda_sources().size()));
    for (size_t i = 0; i < sync.cuda_sources().size(); ++i) CHECK(!program->cubin(i).empty());
}

TEST_CASE("cuda: parallel Muon's reduce-scatter step and Newton-Schulz shard step compile for sm_90a") {
    PG_SKIP_UNLESS_NVRTC();
    Hyperparams h = testing::tiny_training();
    h.world_size = 2;
    h.muon_sharding = "records";
    TrainingGraphs t = build_training_graphs(h);
    REQUIRE(t.muon_shard.graph);
    for (const Graph* g : {t.micro_sync.graph.get(), t.muon_shard.graph.get()}) {
        ExecPlan p = compile_plan(*g, cuda_target("sm_90a"));
        CHECK(p.count(PlanStep::Kind::Collective) >= 1);
        std::unique_ptr<CudaProgram> program = CudaProgram::compile(p.cuda_sources(), {"sm_90a", true});
        CHECK(program->stats().kernels == static_cast<int>(p.cuda_sources().size()));
        for (size_t i = 0; i < p.cuda_sources().size(); ++i) CHECK(!program->cubin(i).empty());
    }
}

}  // namespace pg
