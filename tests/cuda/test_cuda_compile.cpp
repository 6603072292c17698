// Every CUDA kernel of the tiny and of the baseline GPT's training step, exactly as `pgolf train`
// runs it (the micro-step graph, the optimizer graph with Muon's Newton-Schulz and Adam, and the
// evaluation graph), compiles with NVRTC for sm_90a (H100) and sm_80 (A100), with ptxas' register
// report for every launch. NVRTC needs no GPU; the kernel cache makes reruns cheap (a cached cubin
// is one NVRTC produced for the identical source, arch and options).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "frontend/train/step_graphs.h"
#include "ops/gemm/shared_memory.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {
namespace {

// Returns the number of GEMM steps.
int check_compiles(const Graph& g, const std::string& arch, bool fusion, const std::string& what) {
    Target t = cuda_target(arch);
    t.fusion = fusion;
    ExecPlan plan = compile_plan(g, t);
    std::vector<CudaKernelSource> sources = plan.cuda_sources();
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {arch, true});
    const CudaCompileStats& st = program->stats();
    MESSAGE(what, ": ", to_string(st));
    REQUIRE(st.kernels == static_cast<int>(sources.size()));
    CHECK(st.kernels > 0);
    CHECK(st.arch == arch);
    int spilling = 0;
    for (size_t i = 0; i < sources.size(); ++i) {
        const CudaKernelReport& r = program->report(i);
        INFO("kernel ", sources[i].name, " (", sources[i].mapping, ")");
        REQUIRE(r.entries.size() == sources[i].launches.size());
        for (const CudaEntryReport& e : r.entries) {
            CHECK(e.registers > 0);
            CHECK(e.registers <= 255);
            spilling += (e.spill_stores + e.spill_loads) > 0;
            // The GEMM template's instances (every tile, stage and split-K choice of the plan) never spill.
            if (sources[i].mapping.rfind("gemm ", 0) == 0) CHECK(e.spill_stores + e.spill_loads == 0);
        }
        CHECK(!program->cubin(i).empty());
    }
    if (spilling) MESSAGE(what, ": ", spilling, " launches spill registers");
    return plan.count(KernelKind::Gemm);
}

void check_training_step(const Hyperparams& h, const std::vector<std::string>& archs, bool unfused_too,
                         const std::string& what) {
    TrainingGraphs step = build_training_graphs(h);
    ModelGraph eval = build_eval_graph(h.model, h.val_rows(), h.train_seq_len);
    for (const std::string& arch : archs) {
        for (bool fusion : {true, false}) {
            if (!fusion && !unfused_too) continue;
            std::string label = fmt::format("{} {} {}", what, fusion ? "fused" : "unfused", arch);
            CHECK(check_compiles(*step.micro.graph, arch, fusion, label + " micro-step") > 0);
            // Newton-Schulz's X X^T and (a B + c B^2) X products are GEMMs.
            CHECK(check_compiles(*step.optimizer.graph, arch, fusion, label + " optimizer") > 0);
            CHECK(check_compiles(*eval.graph, arch, fusion, label + " eval") > 0);
        }
    }
}

// q [B, H, T, D] and k, v [B, Hkv, T, D] in bf16 with the forward and the three gradients as
// outputs: the graph of every flash-attention pass.
Graph attention_passes(int64_t b, int64_t h, int64_t hkv, int64_t t, int64_t d, bool doc_mask) {
    namespace bd = build;
    Graph g;
    NodeId q = bd::input(g, "q", {b, h, t, d}, DType::bf16);
    NodeId k = bd::input(g, "k", {b, hkv, t, d}, DType::bf16);
    NodeId v = bd::input(g, "v", {b, hkv, t, d}, DType::bf16);
    NodeId dout = bd::input(g, "dout", {b, h, t, d}, DType::bf16);
    NodeId docs = doc_mask ? bd::input(g, "docs", {b, t}, DType::i32) : kNoNode;
    double scale = 1.0 / std::sqrt(static_cast<double>(d));
    NodeId out = bd::attention(g, q, k, v, scale, docs);
    NodeId delta = bd::reshape(g, bd::sum(g, bd::mul(g, bd::cast(g, dout, DType::f32), bd::cast(g, out, DType::f32)), {-1}),
                               {b, h, t});
    std::vector<NodeId> ops = {q, k, v, dout, bd::attention_lse(g, q, k, v, scale, docs), delta};
    if (doc_mask) ops.push_back(docs);
    g.set_output("out", out);
    for (int64_t which = 0; which < 3; ++which)
        g.set_output(fmt::format("grad{}", which), bd::attention_grad(g, ops, scale, which));
    return g;
}

// x [N, d] and w [V, d] in bf16 with the forward and both gradients of their linear
// cross-entropy as outputs: the graph of every linear cross-entropy pass.
Graph linear_ce_passes(int64_t n, int64_t d, int64_t v, double cap) {
    namespace bd = build;
    Graph g;
    NodeId x = bd::input(g, "x", {n, d}, DType::bf16);
    NodeId w = bd::input(g, "w", {v, d}, DType::bf16);
    NodeId t = bd::input(g, "t", {n}, DType::i64);
    NodeId stats = bd::linear_cross_entropy(g, x, w, t, cap);
    std::vector<NodeId> ops = {x, w, t, stats, bd::input(g, "g", {n, 2}, DType::f32)};
    g.set_output("stats", stats);
    for (int64_t which = 0; which < 2; ++which)
        g.set_output(fmt::format("grad{}", which), bd::linear_cross_entropy_grad(g, ops, cap, which));
    return g;
}

}  // namespace

TEST_CASE("cuda: the flash-attention template compiles for sm_90a and sm_80 at head dims 64 and 128, no spills") {
    PG_SKIP_UNLESS_NVRTC();
    for (const std::string arch : {"sm_90a", "sm_80"}) {
        for (auto [d, docs] : {std::pair{64, false}, {128, false}, {64, true}, {128, true}}) {
            // The baseline's shape per micro-step (64 sequences of 1024, 8 heads over 4 kv heads),
            // causal, and with document masking.
            ExecPlan plan = compile_plan(attention_passes(64, 8, 4, 1024, d, docs), cuda_target(arch));
            std::vector<CudaKernelSource> sources;
            for (const PlanStep& st : plan.steps)
                if (st.kind == PlanStep::Kind::Attention) sources.push_back(*st.cuda);
            REQUIRE(sources.size() == 3);  // forward (out and lse), dq, dk and dv
            std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {arch, true});
            for (size_t i = 0; i < sources.size(); ++i) {
                const CudaEntryReport& e = program->report(i).entries.at(0);
                const int dynamic = sources[i].launches.at(0).smem;
                MESSAGE(arch, " ", sources[i].mapping, ": ", e.registers, " registers, ", e.shared_bytes, " + ", dynamic,
                        " B shared (static + dynamic), spills ", e.spill_stores, "/", e.spill_loads);
                INFO(arch, " ", sources[i].mapping);
                CHECK(e.spill_stores + e.spill_loads == 0);
                // The operand tiles are dynamic (attention_cuda.cpp: at most 80 KiB, the forward at
                // head dim 128, so that two blocks fit an SM of either arch); the statistics and
                // first keys static.
                CHECK(dynamic <= 80 * 1024);
                CHECK(2 * (e.shared_bytes + dynamic) <= gemm::shared_memory_optin_bytes(arch));
            }
        }
    }
}

TEST_CASE("cuda: the linear cross-entropy template compiles for sm_90a and sm_80 at the baseline's shape, no spills") {
    PG_SKIP_UNLESS_NVRTC();
    // One micro-step of the baseline: 64 x 1024 tokens, model dim 512, vocab 1024, softcap 30.
    Graph g = linear_ce_passes(65536, 512, 1024, 30.0);
    for (const std::string arch : {"sm_90a", "sm_80"}) {
        ExecPlan plan = compile_plan(g, cuda_target(arch));
        std::vector<CudaKernelSource> sources;
        for (const PlanStep& st : plan.steps)
            if (st.kind == PlanStep::Kind::LinearCe) sources.push_back(*st.cuda);
        REQUIRE(sources.size() == 3);
        std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {arch, true});
        for (size_t i = 0; i < sources.size(); ++i) {
            const CudaEntryReport& e = program->report(i).entries.at(0);
            MESSAGE(arch, " ", sources[i].mapping, ": ", e.registers, " registers, ", e.shared_bytes, " B shared, spills ",
                    e.spill_stores, "/", e.spill_loads);
            INFO(arch, " ", sources[i].mapping);
            CHECK(e.spill_stores + e.spill_loads == 0);
            CHECK(e.shared_bytes <= 48 * 1024);
        }
    }
}

TEST_CASE("cuda: every kernel of the tiny GPT's training step compiles for sm_90a and sm_80, fused and unfused") {
    PG_SKIP_UNLESS_NVRTC();
    check_training_step(testing::tiny_training(), {"sm_90a", "sm_80"}, true, "tiny");
}

TEST_CASE("cuda: every kernel of the baseline GPT's training step (9 x 512, 8 micro-steps of 64 x 1024) compiles") {
    PG_SKIP_UNLESS_NVRTC();
    check_training_step(testing::baseline_training(), {"sm_90a", "sm_80"}, false, "baseline");
}

}  // namespace pg
