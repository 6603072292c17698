// The generated CUDA run on the CPU (tests/cuda/cuda_emulator.h) against the reference
// interpreter: the whole op table, then the mapping modes it does not reach (warp and block
// reductions at scale, many atomics per element), the SIMT and tensor-core GEMM templates, fused
// and unfused, and the tiny GPT's whole training step (micro-step and optimizer graphs). Evidence of the renderer's semantics where no GPU
// is present; the GPU tests (test_cuda_gpu.cpp) repeat the op harness on a device.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>
#include <optional>

#include "base/env.h"
#include "base/error.h"
#include "codegen/compile_plan.h"
#include "ops/gemm/shared_memory.h"
#include "frontend/train/step_graphs.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/cuda/cuda_test_util.h"
#include "codegen/compile_plan.h"
#include "tests/support/bf16_scatter_case.h"
#include "tests/support/epilogue_case.h"
#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"

namespace pg {
namespace {
namespace b = build;
using testing::emulate_cuda;
using testing::random_feeds;

#define PG_SKIP_UNLESS_HOST_CXX()                                                      \
    do {                                                                               \
        if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why); \
    } while (0)

// Every output and update of g (values in interpret_all's order; value i named name(i) and held
// to tol(i)), emulated fused and unfused (with GEMMs for every matmul) and, with `no_gemm`, fused
// without GEMMs, against the interpreter (normwise relative error). Each variant is one host
// compile, so tests put many ops in one graph.
void check_variants(const Graph& g, const Feeds& feeds, bool no_gemm, const std::function<double(size_t)>& tol,
                    const std::function<std::string(size_t)>& name) {
    std::vector<HostTensor> want = interpret_all(g, feeds);
    struct Variant {
        const char* name;
        bool fusion;
        int64_t gemm;
    };
    std::vector<Variant> variants = {{"fused", true, 1}, {"unfused", false, 1}};
    if (no_gemm) variants.push_back({"fused, no gemm", true, 0});
    for (const Variant& v : variants) {
        Target t = cuda_target("sm_90a");
        t.fusion = v.fusion;
        t.gemm_min_flops = v.gemm;
        testing::EmulatedRun got = emulate_cuda(g, feeds, t);
        REQUIRE(got.values.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            INFO("variant ", v.name, ", ", name(i));
            CHECK(max_rel_error(got.values[i], want[i]) <= tol(i));
        }
    }
}

void check(Graph& g, NodeId out, double tol = 1e-5, int64_t int_high = 8, bool no_gemm = false) {
    if (out != kNoNode) g.set_output("out", out);
    check_variants(g, random_feeds(g, 1, int_high), no_gemm, [tol](size_t) { return tol; },
                   [](size_t i) { return fmt::format("value {}", i); });
}

// A CUDA target on which every GEMM step of g runs with `c`, as a tuning database would set it.
Target with_gemm_config(const Graph& g, const gemm::GemmConfig& c, const std::string& arch = "sm_90a") {
    Target t = cuda_target(arch);
    t.gemm_min_flops = 1;
    auto tuned = std::make_shared<TunedDecisions>();
    for (const PlanStep& st : compile_plan(g, t).steps)
        if (st.kind == PlanStep::Kind::Gemm) tuned->kernels[st.workload] = c;
    t.tuned = tuned;
    return t;
}

// bf16 products of every operand order (A k- or m-contiguous, B k- or n-contiguous), ragged
// against 128 x 128 x 32 tiles, as f32 outputs.
Graph four_orders_graph(int64_t m, int64_t n, int64_t k) {
    Graph g;
    NodeId a = b::param(g, "a", {m, k}, DType::bf16);
    NodeId w = b::param(g, "w", {k, n}, DType::bf16);
    NodeId at = b::param(g, "at", {k, m}, DType::bf16);
    NodeId wt = b::param(g, "wt", {n, k}, DType::bf16);
    g.set_output("a_w", b::cast(g, b::matmul(g, a, w), DType::f32));
    g.set_output("at_wt", b::cast(g, b::matmul(g, b::transpose(g, at, 0, 1), b::transpose(g, wt, 0, 1)), DType::f32));
    g.set_output("a_wt", b::cast(g, b::matmul(g, a, b::transpose(g, wt, 0, 1)), DType::f32));
    g.set_output("at_w", b::cast(g, b::matmul(g, b::transpose(g, at, 0, 1), w), DType::f32));
    return g;
}

}  // namespace

TEST_CASE("cuda: emulated on the CPU, every case of the op table (fused, unfused, no GEMM) matches the interpreter") {
    PG_SKIP_UNLESS_HOST_CXX();
    // One graph holding every case: each variant is one host compile of the whole table.
    Graph g = testing::merged_op_table();
    const std::vector<testing::OpCase>& table = testing::op_table();
    check_variants(g, random_feeds(g, 1), true, [&](size_t i) { return table[i].tol; },
                   [&](size_t i) { return "case " + table[i].name; });
}

TEST_CASE("cuda: emulated on the CPU, reductions in thread, warp and block mappings") {
    PG_SKIP_UNLESS_HOST_CXX();
    Graph g;
    NodeId x = b::param(g, "x", {3, 5, 67});
    int n = 0;
    for (std::vector<int64_t> axes : {std::vector<int64_t>{2}, {0}, {0, 2}, {0, 1, 2}})
        g.set_output(fmt::format("r{}", n++), b::add(g, b::sum(g, b::unary(g, Op::Exp, x), axes), b::reduce_max(g, x, axes)));
    NodeId y = b::param(g, "y", {1100, 300});  // 1100 rows of 300 (warp per row), 300 columns (block)
    g.set_output("rows", b::sum(g, b::unary(g, Op::Exp, y), {1}));
    check(g, b::reduce_max(g, b::mul(g, y, 2.0), {0}), 2e-5);
}

TEST_CASE("cuda: emulated on the CPU, atomic scatter-add with many repeated indices") {
    PG_SKIP_UNLESS_HOST_CXX();
    Graph g;  // 300 tokens into 8 rows: every row receives many concurrent atomic adds
    NodeId table = b::param(g, "table", {8, 16});
    NodeId idx = b::input(g, "idx", {20, 15}, DType::i64);
    NodeId src = b::mul(g, b::gather(g, table, idx), 3.0);
    check(g, b::add(g, b::scatter_add(g, idx, src, 8), 0.5), 1e-5);
}

TEST_CASE("cuda: emulated on the CPU, a bf16 embedding gradient accumulates in f32 (atomics and PG_DETERMINISTIC)") {
    PG_SKIP_UNLESS_HOST_CXX();
    testing::Bf16ScatterCase c = testing::bf16_scatter_case();
    HostTensor want = interpret_all(c.graph, c.feeds).at(0);
    CHECK(max_rel_error(testing::bf16_accumulated_grad(c), want) > 4 * c.tol);  // bf16 adds would fail
    for (bool deterministic : {false, true}) {
        Target t = cuda_target("sm_90a");
        t.deterministic = deterministic;
        INFO("deterministic ", deterministic);
        for (const PlanStep& st : compile_plan(c.graph, t).steps)
            if (st.cuda) CHECK(st.cuda->source.find("pg_atomic_add_bf16(&") == std::string::npos);
        testing::EmulatedRun got = emulate_cuda(c.graph, c.feeds, t);
        CHECK(max_rel_error(got.values.at(0), want) <= c.tol);
    }
}

TEST_CASE("cuda: emulated on the CPU, SIMT GEMMs (64 and 128 tiles) with transposed and batched operands") {
    PG_SKIP_UNLESS_HOST_CXX();
    // Ragged 64-tiles; the small case also as generated (non-GEMM) matmul kernels. (Emulated warp
    // reductions cost a fiber switch per lane per shuffle, so the large case skips that variant.)
    for (int64_t n : {5, 70}) {
        Graph g;
        NodeId a = b::param(g, "a", {2, n, 3 * n});
        NodeId w = b::param(g, "w", {2, n + 1, 3 * n});
        NodeId y = b::matmul(g, b::unary(g, Op::Tanh, a), b::transpose(g, w, 1, 2));
        NodeId z = b::matmul(g, b::transpose(g, y, 1, 2), a);
        INFO("n = ", n);
        check(g, b::add(g, b::unary(g, Op::Relu, z), 1.0), 2e-5, 8, n == 5);
    }
    Graph g;  // 132 batches of one 128 x 128 tile: enough blocks for the 128-wide configuration
    NodeId a = b::param(g, "a", {132, 120, 20});
    NodeId w = b::param(g, "w", {132, 20, 128});
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    g.set_output("out", b::matmul(g, a, w));
    Feeds feeds = random_feeds(g, 2);
    testing::EmulatedRun got = emulate_cuda(g, feeds, t);
    CHECK(max_rel_error(got.values[0], interpret_all(g, feeds)[0]) <= 1e-5);
}

TEST_CASE("cuda: emulated on the CPU, tensor-core GEMMs (bf16, f16) with every operand layout and ragged edges") {
    PG_SKIP_UNLESS_HOST_CXX();
    Graph g;
    // k-contiguous and row-contiguous operands, aligned (16-byte chunks) and not (odd extents).
    NodeId a = b::param(g, "a", {72, 40}, DType::bf16);
    NodeId w = b::param(g, "w", {40, 96}, DType::bf16);
    NodeId at = b::param(g, "at", {2, 37, 70}, DType::bf16);
    NodeId wt = b::param(g, "wt", {2, 45, 37}, DType::bf16);
    NodeId h = b::param(g, "h", {64, 48}, DType::f16);
    g.set_output("ab", b::cast(g, b::matmul(g, a, w), DType::f32));
    g.set_output("atbt", b::cast(g, b::matmul(g, b::transpose(g, at, 1, 2), b::transpose(g, wt, 1, 2)), DType::f32));
    g.set_output("h", b::cast(g, b::matmul(g, h, b::transpose(g, h, 0, 1)), DType::f32));
    // One bf16/f16 rounding of the f32 sum (2^-8 / 2^-11 relative), against fp64.
    check(g, kNoNode, 8e-3);
}

TEST_CASE("cuda: emulated on the CPU, the tensor-core GEMM's swizzled cp.async / ldmatrix tiles are free of bank conflicts") {
    PG_SKIP_UNLESS_HOST_CXX();
    // Every operand order with 16-byte-aligned chunks (the cp.async path), edges ragged against
    // the 64 x 64 x 32 tiles: A k- or m-contiguous, B k- or n-contiguous.
    Graph g;
    NodeId a = b::param(g, "a", {72, 48}, DType::bf16);
    NodeId w = b::param(g, "w", {48, 88}, DType::bf16);
    NodeId at = b::param(g, "at", {48, 72}, DType::bf16);
    NodeId wt = b::param(g, "wt", {88, 48}, DType::bf16);
    g.set_output("a_w", b::cast(g, b::matmul(g, a, w), DType::f32));
    g.set_output("at_wt", b::cast(g, b::matmul(g, b::transpose(g, at, 0, 1), b::transpose(g, wt, 0, 1)), DType::f32));
    g.set_output("a_wt", b::cast(g, b::matmul(g, a, b::transpose(g, wt, 0, 1)), DType::f32));
    g.set_output("at_w", b::cast(g, b::matmul(g, b::transpose(g, at, 0, 1), w), DType::f32));
    Feeds feeds = random_feeds(g, 4);
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    testing::EmulatedRun got = emulate_cuda(g, feeds, t);
    std::vector<HostTensor> want = interpret_all(g, feeds);
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("output ", i);
        CHECK(max_rel_error(got.values[i], want[i]) <= 8e-3);  // one bf16 rounding, as above
    }
    MESSAGE(fmt::format("shared-memory phases {}, wavefronts {}", got.smem_phases, got.smem_wavefronts));
    CHECK(got.smem_phases > 0);
    CHECK(got.smem_wavefronts == got.smem_phases);
}

TEST_CASE("cuda: emulated on the CPU, 4 stages of 128 x 128 x 32 tiles in 64 KiB of dynamic shared memory") {
    PG_SKIP_UNLESS_HOST_CXX();
    // Above the 48 KiB of static shared memory: the launch passes the tiles as dynamic shared
    // memory (the emulator poisons it per block and fails a kernel that needs more than passed).
    const gemm::GemmConfig four{gemm::GemmKind::Mma, 128, 128, 32, 2, 4, 4};
    CHECK(four.dynamic_shared_bytes() == 64 * 1024);
    Graph g = four_orders_graph(150, 136, 104);  // 2 x 2 ragged tiles, 3.25 k-tiles
    Target t = with_gemm_config(g, four);
    ExecPlan plan = compile_plan(g, t);
    for (const PlanStep& st : plan.steps)
        if (st.kind == PlanStep::Kind::Gemm) CHECK(st.cuda->launches.at(0).smem == 64 * 1024);
    Feeds feeds = random_feeds(g, 5);
    testing::EmulatedRun got = emulate_cuda(g, feeds, t);
    std::vector<HostTensor> want = interpret_all(g, feeds);
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("output ", i);
        CHECK(max_rel_error(got.values[i], want[i]) <= 8e-3);  // one bf16 rounding of the f32 sum
    }
    MESSAGE(fmt::format("shared-memory phases {}, wavefronts {}", got.smem_phases, got.smem_wavefronts));
    CHECK(got.smem_phases > 0);
    CHECK(got.smem_wavefronts == got.smem_phases);
}

TEST_CASE("cuda: GEMM tiles beyond the arch's opt-in shared memory are refused with a clear error") {
    CHECK(gemm::shared_memory_optin_bytes("sm_90a") == 227 * 1024);
    CHECK(gemm::shared_memory_optin_bytes("sm_80") == 163 * 1024);
    CHECK(gemm::shared_memory_optin_bytes("sm_86") == 99 * 1024);
    Graph g = four_orders_graph(64, 64, 64);
    // 4 x (128 + 128) x 64 x 2 B = 128 KiB: legal on sm_90a and sm_80, not on sm_86 (99 KiB).
    const gemm::GemmConfig big{gemm::GemmKind::Mma, 128, 128, 64, 2, 4, 4};
    CHECK_NOTHROW(compile_plan(g, with_gemm_config(g, big, "sm_80")));
    try {
        compile_plan(g, with_gemm_config(g, big, "sm_86"));
        FAIL("the plan should have been refused");
    } catch (const Error& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("mma 128x128x64 w2x4 s4") != std::string::npos);
        CHECK(msg.find("131072") != std::string::npos);
        CHECK(msg.find("sm_86") != std::string::npos);
        CHECK(msg.find("101376") != std::string::npos);
    }
}

TEST_CASE("cuda: emulated on the CPU, split-K GEMMs (uneven and empty slices) match the interpreter, run after run") {
    PG_SKIP_UNLESS_HOST_CXX();
    // K = 200 is 7 k-tiles of 32: 3 slices of 3, 3, 1 (MMA), or 8 slices: seven of 1 and an empty one
    // (SIMT, tile_k 8: 25 k-tiles -> 4 slices of 7, 7, 7, 4); M and N ragged against the tiles.
    struct Case {
        DType dtype;
        gemm::GemmConfig config;
        double tol;  // bf16: one rounding of the f32 sum; f32: sums in another order than fp64
    };
    for (const Case& c : {Case{DType::bf16, {gemm::GemmKind::Mma, 64, 64, 32, 2, 2, 3, 3}, 8e-3},
                          Case{DType::bf16, {gemm::GemmKind::Mma, 64, 64, 32, 2, 2, 2, 8}, 8e-3},
                          Case{DType::f32, {gemm::GemmKind::Simt, 64, 64, 8, 2, 4, 2, 4}, 1e-5}}) {
        INFO(c.config.to_string());
        Graph g;
        NodeId x = b::param(g, "x", {200, 70}, c.dtype);  // tokens x features: dW = x^T dy
        NodeId dy = b::param(g, "dy", {200, 88}, c.dtype);
        NodeId a = b::param(g, "a", {70, 200}, c.dtype);
        g.set_output("dw", b::cast(g, b::matmul(g, b::transpose(g, x, 0, 1), dy), DType::f32));
        g.set_output("a_dy", b::cast(g, b::matmul(g, a, dy), DType::f32));
        Target t = with_gemm_config(g, c.config);
        ExecPlan plan = compile_plan(g, t);
        for (const PlanStep& st : plan.steps) {
            if (st.kind != PlanStep::Kind::Gemm) continue;
            CHECK(st.cuda->launches.size() == 2);  // the product, then the reduction
            CHECK(st.cuda->workspace_bytes == int64_t{c.config.split_k} * 70 * 88 * 4);
            CHECK(st.workspace_offset >= 0);
        }
        Feeds feeds = random_feeds(g, 6);
        testing::EmulatedRun first = emulate_cuda(g, feeds, t), second = emulate_cuda(g, feeds, t);
        std::vector<HostTensor> want = interpret_all(g, feeds);
        for (size_t i = 0; i < want.size(); ++i) {
            INFO("output ", i);
            CHECK(max_rel_error(first.values[i], want[i]) <= c.tol);
            CHECK(first.values[i].bytes == second.values[i].bytes);  // slices summed in a fixed order
        }
        if (c.dtype == DType::bf16) CHECK(first.smem_wavefronts == first.smem_phases);
    }
}

TEST_CASE("cuda: emulated on the CPU, GEMM epilogues (MMA, SIMT, split-K) give the separate kernels' bits and the interpreter's values") {
    PG_SKIP_UNLESS_HOST_CXX();
    // The epilogue rounds the product to its dtype and runs the separate kernels' expressions, so
    // with the same GEMM configuration the results are bit-identical. Against the fp64 interpreter:
    // bf16 products summed in another order may round one ulp apart (2^-8), which tanh, the square
    // and the next product carry along (1e-2, normwise); f32: 1e-5 as the other SIMT GEMM tests.
    struct Case {
        DType dtype;
        std::optional<gemm::GemmConfig> config;  // none: the heuristic's (no split-K at K <= 96)
        double tol;
    };
    for (const Case& c : {Case{DType::bf16, std::nullopt, 1e-2},
                          Case{DType::bf16, gemm::GemmConfig{gemm::GemmKind::Mma, 64, 64, 32, 2, 2, 3, 3}, 1e-2},
                          Case{DType::f32, std::nullopt, 1e-5},
                          Case{DType::f32, gemm::GemmConfig{gemm::GemmKind::Simt, 64, 64, 8, 2, 4, 2, 4}, 1e-5}}) {
        INFO(dtype_name(c.dtype), " ", c.config ? c.config->to_string() : "heuristic");
        Graph g = testing::epilogue_case(c.dtype);
        Target fused = c.config ? with_gemm_config(g, *c.config) : cuda_target("sm_90a");
        Target apart = fused;
        apart.gemm_epilogues = false;
        Feeds feeds = random_feeds(g, 7);
        testing::EmulatedRun got = emulate_cuda(g, feeds, fused), sep = emulate_cuda(g, feeds, apart);
        std::vector<HostTensor> want = interpret_all(g, feeds);
        CHECK(got.kernels + 4 == sep.kernels);
        REQUIRE(got.values.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            INFO("output ", i);
            CHECK(got.values[i].bytes == sep.values[i].bytes);
            CHECK(max_rel_error(got.values[i], want[i]) <= c.tol);
        }
    }
}

// Every output and update of g emulated (fused, the GPU's default GEMM threshold) against the
// interpreter within `tol`.
void check_step_graph(const Graph& g, const Feeds& feeds, double tol, const char* what) {
    std::vector<HostTensor> want = interpret_all(g, feeds);
    testing::EmulatedRun got = emulate_cuda(g, feeds, cuda_target("sm_90a"));
    MESSAGE(fmt::format("tiny GPT {} emulated: {} kernels, {} launches", what, got.kernels, got.launches));
    REQUIRE(got.values.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        INFO(what, " value ", i, " (outputs, then updates in order)");
        CHECK(max_rel_error(got.values[i], want[i]) <= tol);
    }
}

TEST_CASE("cuda: emulated on the CPU, the tiny GPT's training step (micro-step and Muon + Adam optimizer) equals the interpreter's") {
    PG_SKIP_UNLESS_HOST_CXX();
    // f32 Newton-Schulz: bf16 iterations would differ from the interpreter by bf16 roundings of
    // differently ordered sums, amplified by five iterations; the bf16 path is the CPU JIT's test.
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", "f32");
    TrainingGraphs step = build_training_graphs(testing::tiny_training());
    Feeds feeds;
    for (auto& [name, value] : step.optimizer.params->initialize(1337)) feeds[name] = value;
    Feeds rnd = random_feeds(*step.micro.graph, 5, 96);
    feeds["ids"] = rnd["ids"];
    feeds["targets"] = rnd["targets"];
    // The micro-step: its loss (fp32 through ~200 ops against fp64: 1e-5, as the CPU JIT's test)
    // and the accumulated gradients (the backward pass doubles the depth and sums over the batch in
    // another order; small gradients of zero-mean sums lose relative precision: 1e-4, as the
    // PyTorch parity test).
    check_step_graph(*step.micro.graph, feeds, 1e-4, "micro-step");
    // The optimizer on random accumulated gradients (none near zero, where Adam's first step,
    // about -lr * sign(g), could flip): weights, momentum and Adam moments after one step, and the
    // zeroed accumulators. Five f32 Newton-Schulz iterations amplify rounding differences ~10x.
    Feeds opt = random_feeds(*step.optimizer.graph, 6);
    for (const ParamSpec& p : step.optimizer.params->specs())
        if (p.group != "gradacc") opt[p.name] = feeds[p.name];
    opt["step"] = HostTensor::from_doubles(DType::f32, {}, {1.0});
    for (const char* lr : {"lr.embed", "lr.matrix", "lr.scalar"}) opt[lr] = HostTensor::from_doubles(DType::f32, {}, {0.01});
    opt["muon_momentum"] = HostTensor::from_doubles(DType::f32, {}, {0.95});
    check_step_graph(*step.optimizer.graph, opt, 1e-4, "optimizer");
}

}  // namespace pg
