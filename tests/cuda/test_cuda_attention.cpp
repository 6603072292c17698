// The CUDA flash-attention template (ops/attention/attention_cuda.h) run in the host emulation
// (tests/cuda/cuda_emulator.h) against the reference interpreter's decompositions, on shapes
// ragged against its blocks (64 rows; the other side 64, or 32 for the backward at head dim 128):
// bf16 at head dim 64, T = 70, GQA 4 / 2, and head dim 128, T = 100, GQA 3 / 1; f16 at head dim 64,
// T = 70, 2 / 1 and head dim 128, T = 45, 2 / 2. The forward output, its log-sum-exp (read through
// the backward) and dq, dk, dv are checked; the plan must use the template for every pass (fused),
// and the unfused plan (the reference decomposition on the same emulator) is held to the same
// tolerance. The fused runs' ldmatrix and cp.async accesses must be free of bank conflicts.
//
// With document masking (doc_start, one more operand), two rows of ragged documents at head dims 64
// and 128 and T = 140: whole key blocks lie before some row blocks' documents (skipped), some rows
// of a block see nothing of its first key block (a document that starts later than the block's
// smallest doc_start), and some query blocks see nothing of a key block (skipped by the dk/dv pass).
//
// Tolerances, normwise relative (max |error| / max |reference|). Both sides round their outputs to
// 16 bits, from f32 (template) or fp64 (interpreter); one ulp of an element near the largest is up
// to 2^-7 = 7.8e-3 of it in bf16 (2^-10 = 9.8e-4 in f16). The template also rounds P and dS to 16
// bits before the tensor-core products that take them (P V, dS K, P^T dO, dS^T Q: as FlashAttention-2
// does), a relative 2^-9 (bf16) / 2^-12 (f16) per term, which can move the rounded output by one
// more ulp. Hence two ulps: bf16 1.6e-2, f16 2e-3. Measured worst: bf16 7.8e-3 (dk, document-masked,
// head dim 128), 6.0e-3 without masking; f16 8.2e-4 (dq, head dim 128); the unfused plan 4.9e-4.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

constexpr double kTol = 1.6e-2;
constexpr double kTolF16 = 2e-3;

// The forward and the three gradients of one attention problem, as outputs "<tag>.out",
// "<tag>.grad0".. of g; dout is a leaf, lse comes from the forward's statistics. docs: the
// doc_start input [bs, t] (kNoNode: causal only).
void add_problem(Graph& g, const std::string& tag, int64_t h, int64_t hkv, int64_t t, int64_t d, int64_t bs = 1,
                 NodeId docs = kNoNode, DType dtype = DType::bf16) {
    NodeId q = b::input(g, tag + ".q", {bs, h, t, d}, dtype);
    NodeId k = b::input(g, tag + ".k", {bs, hkv, t, d}, dtype);
    NodeId v = b::input(g, tag + ".v", {bs, hkv, t, d}, dtype);
    NodeId dout = b::input(g, tag + ".dout", {bs, h, t, d}, dtype);
    double scale = 1.0 / std::sqrt(static_cast<double>(d));
    NodeId out = b::attention(g, q, k, v, scale, docs);
    NodeId prod = b::mul(g, b::cast(g, dout, DType::f32), b::cast(g, out, DType::f32));
    NodeId delta = b::reshape(g, b::sum(g, prod, {-1}), {bs, h, t});
    std::vector<NodeId> ops = {q, k, v, dout, b::attention_lse(g, q, k, v, scale, docs), delta};
    if (docs != kNoNode) ops.push_back(docs);
    g.set_output(tag + ".out", out);
    for (int64_t which = 0; which < 3; ++which)
        g.set_output(fmt::format("{}.grad{}", tag, which), b::attention_grad(g, ops, scale, which));
}

// Emulates g fused (the template: `passes` attention steps) and unfused against the interpreter
// with tolerance `tol`; the fused run's ldmatrix and cp.async accesses (every operand tile of the
// template) must be free of shared-memory bank conflicts (the swizzle of ops/gemm/tile_access.cpp).
void check_template(const Graph& g, const Feeds& feeds, int passes, double tol = kTol) {
    std::vector<HostTensor> want = interpret_all(g, feeds);
    for (bool fusion : {true, false}) {
        Target t = cuda_target("sm_90a");
        t.fusion = fusion;
        CHECK(compile_plan(g, t).count(PlanStep::Kind::Attention) == (fusion ? passes : 0));
        testing::EmulatedRun got = testing::emulate_cuda(g, feeds, t);
        REQUIRE(got.values.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            INFO((fusion ? "fused " : "unfused "), g.outputs()[i].name);
            CHECK(max_rel_error(got.values[i], want[i]) <= tol);
        }
        if (fusion) {
            CHECK(got.smem_phases > 0);
            CHECK(got.smem_wavefronts == got.smem_phases);
        }
    }
}

}  // namespace

TEST_CASE("cuda: emulated flash attention (forward, dq, dk/dv) matches the interpreter on ragged bf16 shapes") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    Graph g;
    add_problem(g, "d64", 4, 2, 70, 64);
    add_problem(g, "d128", 3, 1, 100, 128);
    check_template(g, testing::random_feeds(g, 3), 6);
}

TEST_CASE("cuda: emulated flash attention matches the interpreter on ragged f16 shapes") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    Graph g;
    add_problem(g, "d64", 2, 1, 70, 64, 1, kNoNode, DType::f16);
    add_problem(g, "d128", 2, 2, 45, 128, 1, kNoNode, DType::f16);
    check_template(g, testing::random_feeds(g, 4), 6, kTolF16);
}

TEST_CASE("cuda: emulated flash attention with document masking at BOS matches the interpreter") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    constexpr int64_t kT = 140;
    // Row 0: documents from 0, 3, 50, 100, 133; row 1: a partial leading document [0, 70), a
    // one-token document at 70, then 71 and 130. The last forward block (rows 128..139) starts at
    // key block 1 (its smallest doc_start is 100 or 71), where rows 133.. (130..) see nothing.
    const std::vector<std::vector<int64_t>> bos = {{0, 3, 50, 100, 133}, {70, 71, 130}};
    Graph g;
    NodeId docs = b::input(g, "docs", {2, kT}, DType::i32);
    add_problem(g, "docs", 2, 1, kT, 64, 2, docs);
    add_problem(g, "docs128", 2, 2, kT, 128, 2, docs);
    Feeds feeds = testing::random_feeds(g, 5);
    HostTensor& ds = feeds.at("docs");
    for (int64_t r = 0; r < 2; ++r) {
        int64_t start = 0;
        for (int64_t i = 0; i < kT; ++i) {
            for (int64_t at : bos[static_cast<size_t>(r)]) start = at == i ? i : start;
            ds.set(r * kT + i, static_cast<double>(start));
        }
    }
    check_template(g, feeds, 6);
}

}  // namespace pg
