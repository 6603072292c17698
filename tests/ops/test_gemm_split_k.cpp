// The GEMM configuration's split-K: the heuristic's choice for the baseline's weight-gradient
// shapes (hand-computed from the rule in gemm_problem.cpp), its absence where the output tiles
// already fill the SMs or K is short, and the checks on bad values.
#include <doctest/doctest.h>

#include "base/error.h"
#include "ops/gemm/gemm_cuda.h"
#include "ops/gemm/gemm_problem.h"

namespace pg {
namespace {

// dW = X^T dY of the baseline: m x n weights, K = 65,536 tokens, X^T not k-contiguous.
gemm::GemmProblem dw(int64_t m, int64_t n, int64_t k = 65536) {
    gemm::GemmProblem p;
    p.dtype = DType::bf16;
    p.m = m, p.n = n, p.k = k;
    p.trans_a = true;
    p.lda = m, p.ldb = n;
    return p;
}

}  // namespace

TEST_CASE("gemm: split-K fills the 132 SMs for the baseline's weight gradients") {
    // 512 x 512: 16 tiles of 128 -> floor(132 / 16) = 8 slices of 8,192 (128 blocks).
    gemm::GemmConfig c = gemm::choose_gemm_config(dw(512, 512));
    CHECK(c.to_string() == "mma 128x128x32 w2x4 s3 k8");
    // 512 x 256 (the k/v projections): 8 tiles -> 16 slices; 512 x 1024 (MLP): 32 tiles -> 4.
    CHECK(gemm::choose_gemm_config(dw(512, 256)).split_k == 16);
    CHECK(gemm::choose_gemm_config(dw(1024, 512)).split_k == 4);
    // f32 (SIMT) splits the same way.
    gemm::GemmProblem f = dw(512, 512);
    f.dtype = DType::f32;
    CHECK(gemm::choose_gemm_config(f).to_string() == "simt 128x128x8 w2x4 s2 k8");
    // Enough tiles already (the forward and dX products, M = 65,536 tokens), a short K (at most
    // 2 x 4,096 long slices: K = 8,192 -> 2), or split-K turned off: no split.
    CHECK(gemm::choose_gemm_config(dw(65536, 512, 512)).split_k == 1);
    CHECK(gemm::choose_gemm_config(dw(512, 512, 8192)).split_k == 2);
    CHECK(gemm::choose_gemm_config(dw(512, 512, 4096)).split_k == 1);
    gemm::GemmConfig off = gemm::choose_gemm_config(dw(512, 512), 132, false);
    CHECK(off.to_string() == "mma 64x64x32 w2x2 s3");
    // The workspace: 8 f32 partials of 512 x 512.
    CHECK(gemm::gemm_workspace_bytes(dw(512, 512), c) == 8LL * 512 * 512 * 4);
    CHECK(gemm::gemm_workspace_bytes(dw(512, 512), off) == 0);
    CHECK(gemm::gemm_grid(dw(512, 512), c)[2] == 8);
}

TEST_CASE("gemm: split-K values outside 1..16 are refused") {
    gemm::GemmConfig c{gemm::GemmKind::Mma, 64, 64, 32, 2, 2, 3, 0};
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("split_k 0 (1 to 16)"), InternalError);
    c.split_k = 17;
    CHECK_THROWS_AS(c.validate(), InternalError);
    c.split_k = 16;
    CHECK_NOTHROW(c.validate());
}

}  // namespace pg
