// The performance model's arithmetic against hand counts: an f32 and a bf16 GEMM (FLOPs by unit,
// operand bytes, compute- vs memory-bound roofline on the H100 figures), an elementwise kernel and
// a row reduction (float ops per innermost iteration times the loop trip counts, each buffer's
// bytes once), and a planned graph whose steps add up.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "codegen/perf_model.h"
#include "graph/build.h"
#include "tests/codegen/llvm_test_util.h"

using namespace pg;
using namespace pg::test;

namespace {

kir::ExprRef v64(int var) { return kir::var(var, DType::i64); }

// y[i] = x[i] * 2 + 1 over n f32 elements: 2 float ops per element; x read, y written.
kir::Kernel axpb_kernel(int64_t n) {
    kir::Kernel k;
    k.name = "t_axpb";
    k.buffers = {{"x", DType::f32, n, false}, {"y", DType::f32, n, true}};
    int i = k.new_var("i", DType::i64);
    auto x = kir::load(0, DType::f32, v64(i));
    auto value = kir::compute(Op::Add, DType::f32,
                              {kir::compute(Op::Mul, DType::f32, {x, kir::constant(2, DType::f32)}),
                               kir::constant(1, DType::f32)});
    k.body = {loop(i, n, {store(1, v64(i), value)}, true)};
    return k;
}

// s[r] = sum_c exp(x[r, c]) over a bf16 [rows, cols] input: per inner iteration one exp and one
// accumulate (the index arithmetic r * cols + c is i64 and not counted).
kir::Kernel row_sum_exp_kernel(int64_t rows, int64_t cols) {
    kir::Kernel k;
    k.name = "t_row_sum_exp";
    k.buffers = {{"x", DType::bf16, rows * cols, false}, {"s", DType::f32, rows, true}};
    int r = k.new_var("r", DType::i64), c = k.new_var("c", DType::i64), s = k.new_var("s", DType::f32);
    auto x = kir::load(0, DType::bf16, kir::iadd(kir::imul(v64(r), kir::index_const(cols)), v64(c)));
    auto e = kir::compute(Op::Exp, DType::f32, {x});
    k.body = {loop(r, rows,
                   {acc_init(s, kir::constant(0, DType::f32)), loop(c, cols, {acc_update(s, Op::Add, e)}),
                    store(1, v64(r), kir::var(s, DType::f32))},
                   true)};
    return k;
}

gemm::GemmProblem problem(DType dtype, int64_t m, int64_t n, int64_t k) {
    gemm::GemmProblem p;
    p.dtype = dtype;
    p.m = m, p.n = n, p.k = k;
    p.lda = k, p.ldb = n;
    return p;
}

}  // namespace

TEST_CASE("perf model: a GEMM's efficiency counts its waves over the SMs and its pipeline stages") {
    const GpuPeaks& h100 = gpu_peaks("h100");
    gemm::GemmProblem dw = problem(DType::bf16, 512, 512, 65536);
    gemm::GemmConfig one{gemm::GemmKind::Mma, 128, 128, 32, 2, 4, 3, 1}, split = one, four = one;
    split.split_k = 8;
    four.stages = 4;
    // A k-tile at the peak per SM: 2 x 128 x 128 x 32 / (989.4e12 / 132) = 139.9 ns; one resident
    // 256-thread block (65,536 / (256 x 160) = 1.6); 3 stages keep 2 k-tiles in flight:
    // 2 x 139.9 / 500 = 0.5596. 16 blocks on 132 SMs: 16 / 132; split 8 ways: 128 / 132.
    const double tile = 2.0 * 128 * 128 * 32 / (989.4e12 / 132);
    CHECK(gemm_efficiency(dw, one, h100) == doctest::Approx(16.0 / 132 * 2 * tile / 500e-9));
    CHECK(gemm_efficiency(dw, split, h100) == doctest::Approx(128.0 / 132 * 2 * tile / 500e-9));
    CHECK(gemm_efficiency(dw, four, h100) == doctest::Approx(16.0 / 132 * 3 * tile / 500e-9));
    // Split-K's traffic: the 8 f32 partials written and read back, on top of A + B + C.
    KernelWork w = gemm_work(dw, split, h100);
    CHECK(w.bytes == doctest::Approx((512.0 * 65536 * 2 + 512.0 * 512) * 2 + 2.0 * 8 * 512 * 512 * 4));
    KernelEstimate e1 = estimate_kernel("g", "gemm", gemm_work(dw, one, h100), h100);
    KernelEstimate e8 = estimate_kernel("g", "gemm", w, h100);
    MESSAGE("dW 512 x 512 x 65536 on h100: ", e1.seconds * 1e6, " us unsplit, ", e8.seconds * 1e6, " us split 8 ways");
    CHECK(e8.compute_seconds == doctest::Approx(e1.compute_seconds / 8));
}

TEST_CASE("perf model: the GPU table has the datasheet figures and refuses an unknown GPU") {
    const GpuPeaks& h100 = gpu_peaks("h100");
    CHECK(h100.tensor_flops == doctest::Approx(989.4e12));
    CHECK(h100.hbm_bytes_per_s == doctest::Approx(3.35e12));
    CHECK(gpu_peaks("h200").hbm_bytes_per_s == doctest::Approx(4.8e12));
    CHECK_THROWS_WITH_AS(gpu_peaks("a100"), doctest::Contains("known: h100, h200"), Error);
}

TEST_CASE("perf model: an f32 GEMM is SIMT compute-bound, a bf16 one tensor-core memory-bound") {
    const GpuPeaks& h100 = gpu_peaks("h100");
    // 1024 x 512 x 256: 2 * 1024 * 512 * 256 = 268,435,456 FLOPs; A 262,144 + B 131,072 + C 524,288
    // = 917,504 elements.
    KernelWork f32 = gemm_work(problem(DType::f32, 1024, 512, 256), false);
    CHECK(f32.simt_fma_flops == 268435456.0);
    CHECK(f32.tensor_flops == 0);
    CHECK(f32.bytes == 917504.0 * 4);
    KernelEstimate e = estimate_kernel("g", "gemm", f32, h100);
    // 268,435,456 / 66.9e12 = 4.0125 us of FMAs vs 3,670,016 / 3.35e12 = 1.0955 us of memory; + 2 us launch.
    CHECK(e.compute_seconds == doctest::Approx(4.0125e-6).epsilon(1e-4));
    CHECK(e.memory_seconds == doctest::Approx(1.0955e-6).epsilon(1e-4));
    CHECK_FALSE(e.memory_bound());
    CHECK(e.seconds == doctest::Approx(6.0125e-6).epsilon(1e-4));

    KernelWork bf16 = gemm_work(problem(DType::bf16, 1024, 512, 256), true);
    CHECK(bf16.tensor_flops == 268435456.0);
    CHECK(bf16.bytes == 917504.0 * 2);
    KernelEstimate t = estimate_kernel("g", "gemm", bf16, h100);
    // 268,435,456 / 989.4e12 = 0.2713 us vs 1,835,008 / 3.35e12 = 0.5478 us: memory-bound.
    CHECK(t.memory_bound());
    CHECK(t.seconds == doctest::Approx(0.5478e-6 + 2e-6).epsilon(1e-4));
}

TEST_CASE("perf model: loop kernels count float ops per iteration times trip counts, and each buffer once") {
    const GpuPeaks& h100 = gpu_peaks("h100");
    KernelWork w = loop_work(axpb_kernel(1 << 20));
    CHECK(w.simt_ops == 2.0 * (1 << 20));
    CHECK(w.bytes == 8.0 * (1 << 20));  // 4 B read + 4 B written per element
    KernelEstimate e = estimate_kernel("k", "loop", w, h100);
    // 2,097,152 ops at 66.9e12 / 2 = 0.0627 us, 8,388,608 B / 3.35e12 = 2.504 us: memory-bound.
    CHECK(e.memory_bound());
    CHECK(e.seconds == doctest::Approx(8388608.0 / 3.35e12 + 2e-6).epsilon(1e-6));

    KernelWork r = loop_work(row_sum_exp_kernel(300, 700));
    CHECK(r.simt_ops == 2.0 * 300 * 700);      // exp + accumulate per inner iteration
    CHECK(r.bytes == 300.0 * 700 * 2 + 300 * 4);  // bf16 input once, f32 sums once
    CHECK(estimate_kernel("k", "loop", r, gpu_peaks("h200")).memory_seconds == doctest::Approx(r.bytes / 4.8e12));
}

TEST_CASE("perf model: a planned graph's estimate is the sum of its steps, with the GEMM on its unit") {
    namespace b = build;
    Graph g;
    NodeId x = b::param(g, "x", {512, 256});
    NodeId w = b::param(g, "w", {256, 384});
    g.set_output("out", b::add(g, b::matmul(g, x, w), 1.0));
    ExecPlan plan = compile_plan(g, cuda_target("sm_90a"));
    REQUIRE(plan.count(KernelKind::Gemm) == 1);
    StepEstimate s = estimate_plan(plan, gpu_peaks("h100"));
    REQUIRE(s.kernels.size() == plan.steps.size());
    double sum = 0, gemm_flops = 0;
    for (const KernelEstimate& k : s.kernels) {
        sum += k.seconds;
        if (k.kind == "gemm") gemm_flops += k.work.simt_fma_flops + k.work.tensor_flops;
    }
    CHECK(s.seconds == doctest::Approx(sum));
    CHECK(gemm_flops == 2.0 * 512 * 384 * 256);
    CHECK(s.launches >= static_cast<int>(plan.steps.size()));
}

TEST_CASE("perf model: a flash-attention pass counts its tiles' products on tensor cores and moves no [T, T] tensor") {
    attn::AttentionProblem p;
    p.dtype = DType::bf16;
    p.b = 2, p.h = 8, p.hkv = 4, p.t = 1024, p.d = 64;
    p.has_output = {true, true};
    // The template's tiles are 64 x 64 (attention_cuda.cpp): query block i (of 16) meets key blocks
    // 0..i, 136 tiles of 4,096 pairs = 557,056 pairs per head (the visible T (T + 1) / 2 = 524,800
    // plus the diagonal tiles' upper halves); 16 heads.
    const double pairs = 16.0 * 136 * 4096;
    KernelWork fwd = attention_work(p);
    CHECK(fwd.tensor_flops == doctest::Approx(2 * 2 * pairs * 64));  // S = q k^T and P v
    CHECK(fwd.simt_fma_flops == 0);
    CHECK(fwd.simt_ops == doctest::Approx(4 * pairs));
    const double q_bytes = 2.0 * 8 * 1024 * 64 * 2, kv_bytes = 2.0 * 4 * 1024 * 64 * 2, lse_bytes = 2.0 * 8 * 1024 * 4;
    CHECK(fwd.bytes == doctest::Approx(q_bytes + 2 * kv_bytes + q_bytes + lse_bytes));
    p.pass = attn::Pass::GradKV;
    KernelWork kv = attention_work(p);
    CHECK(kv.tensor_flops == doctest::Approx(4 * 2 * pairs * 64));  // S, dP, dV, dK
    // Reads q, k, v, dout, lse, delta; writes dk, dv.
    CHECK(kv.bytes == doctest::Approx(2 * q_bytes + 2 * kv_bytes + 2 * lse_bytes + 2 * kv_bytes));
    // At head dim 128 the backward's other side is 32 rows: key block i (of 16) meets query
    // blocks 2i..31 of 32 rows, 272 tiles of 2,048 pairs: the same 557,056 pairs per head.
    p.d = 128;
    CHECK(attention_work(p).tensor_flops == doctest::Approx(4 * 2 * (16.0 * 272 * 2048) * 128));
    // f32 (the CPU template; no CUDA template): the visible pairs as SIMT FMAs.
    p.dtype = DType::f32;
    CHECK(attention_work(p).simt_fma_flops == doctest::Approx(4 * 2 * (16.0 * 524800) * 128));
}

TEST_CASE("perf model: linear cross-entropy passes by hand") {
    // The baseline's head per micro-step: 65,536 tokens, d 512, vocab 1024, bf16, i64 targets.
    ce::LinearCeProblem p{.pass = ce::Pass::Forward, .dtype = DType::bf16, .target_dtype = DType::i64,
                          .n = 65536, .d = 512, .v = 1024, .cap = 30};
    const double logits = 65536.0 * 1024, product = 2 * logits * 512;
    const double x_bytes = 65536.0 * 512 * 2, w_bytes = 1024.0 * 512 * 2, t_bytes = 65536.0 * 8;
    KernelWork fwd = linear_ce_work(p);
    CHECK(fwd.tensor_flops == doctest::Approx(product));  // x wᵀ once
    CHECK(fwd.simt_ops == doctest::Approx(6 * logits));
    CHECK(fwd.bytes == doctest::Approx(x_bytes + w_bytes + t_bytes + 65536.0 * 8));  // writes (loss, lse)
    p.pass = ce::Pass::GradW;
    KernelWork dw = linear_ce_work(p);
    // d 512 in column chunks of 128: the logits 4 times, plus dlᵀ x once.
    CHECK(dw.tensor_flops == doctest::Approx(5 * product));
    CHECK(dw.simt_ops == doctest::Approx(4 * 8 * logits));
    // Reads x, w, targets, stats and grad ([N, 2] f32 each); writes dw.
    CHECK(dw.bytes == doctest::Approx(x_bytes + w_bytes + t_bytes + 2 * 65536.0 * 8 + w_bytes));
}
