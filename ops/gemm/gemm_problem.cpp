// GEMM problem checks and the tile-configuration heuristic (see gemm_problem.h).
#include "ops/gemm/gemm_problem.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace pg::gemm {

int64_t GemmProblem::batch() const {
    int64_t b = 1;
    for (int64_t e : batch_shape) b *= e;
    return b;
}

std::vector<int64_t> batch_offsets(const std::vector<int64_t>& batch_shape, const std::vector<int64_t>& strides,
                                   int64_t offset) {
    std::vector<int64_t> offs{offset};
    for (size_t d = 0; d < batch_shape.size(); ++d) {
        std::vector<int64_t> next;
        next.reserve(offs.size() * static_cast<size_t>(batch_shape[d]));
        for (int64_t o : offs)
            for (int64_t i = 0; i < batch_shape[d]; ++i) next.push_back(o + i * strides[d]);
        offs = std::move(next);
    }
    return offs;
}

void GemmProblem::validate() const {
    PG_ASSERT(m >= 1 && n >= 1 && k >= 1, "GEMM extents {}x{}x{}", m, n, k);
    PG_ASSERT(dtype == DType::f32 || dtype == DType::bf16 || dtype == DType::f16, "GEMM dtype {}", dtype_name(dtype));
    PG_ASSERT(a_batch_strides.size() == batch_shape.size() && b_batch_strides.size() == batch_shape.size(),
              "GEMM batch strides do not match the batch shape");
    PG_ASSERT(lda >= (trans_a ? m : k) || (trans_a ? k : m) == 1, "GEMM lda {} too small", lda);
    PG_ASSERT(ldb >= (trans_b ? k : n) || (trans_b ? n : k) == 1, "GEMM ldb {} too small", ldb);
}

std::string GemmConfig::to_string() const {
    std::string s = fmt::format("{} {}x{}x{} w{}x{} s{}", kind == GemmKind::Mma ? "mma" : "simt", tile_m, tile_n, tile_k,
                                warps_m, warps_n, stages);
    return split_k > 1 ? s + fmt::format(" k{}", split_k) : s;
}

int GemmConfig::shared_bytes() const {
    if (kind == GemmKind::Simt) return stages * tile_k * (tile_m + 4 + tile_n + 4) * 4;  // gemm_cuda.cpp's As, Bs
    return stages * (tile_m + tile_n) * tile_k * 2;
}

void GemmConfig::validate() const {
    PG_ASSERT(stages >= 1 && stages <= (kind == GemmKind::Simt ? 2 : 4), "GEMM stages {}", stages);
    PG_ASSERT(split_k >= 1 && split_k <= kMaxSplitK, "GEMM split_k {} (1 to {})", split_k, kMaxSplitK);
    if (kind == GemmKind::Simt) {
        PG_ASSERT(threads() == 256 && tile_m % 64 == 0 && tile_n % 64 == 0 && tile_m <= 128 && tile_n <= 128,
                  "SIMT GEMM needs 256 threads and 64/128 tiles: {}", to_string());
        PG_ASSERT((tile_m * tile_k) % 256 == 0 && (tile_n * tile_k) % 256 == 0, "SIMT GEMM tile_k {}", tile_k);
    } else {
        PG_ASSERT(tile_k % 16 == 0 && tile_m % (16 * warps_m) == 0 && tile_n % (8 * warps_n) == 0,
                  "MMA GEMM tiles must split into m16n8k16 steps: {}", to_string());
        PG_ASSERT((tile_m * tile_k) % (8 * threads()) == 0 && (tile_n * tile_k) % (8 * threads()) == 0,
                  "MMA GEMM tiles must load in 8-element chunks: {}", to_string());
    }
}

int split_k_slices(int64_t tiles, int64_t k, int sm_count) {
    // Split-K: a product with few output tiles and a long K (the weight gradients dW = X^T dY,
    // K = the tokens of a micro-step, 65,536 in the baseline) leaves most SMs idle: dW of 512 x 512
    // is 16 tiles of 128 x 128 for H100's 132 SMs. floor(sm_count / tiles) slices fill the SMs
    // once without a second, mostly idle wave: 16 tiles -> 8 slices (128 blocks), 8 -> 16, 32 -> 4.
    // Each slice is at least kMinSliceK = 4096 long: its (128 + 128) x 4096 x 2 B = 2 MiB of
    // operand loads dwarf the 128 x 128 x 4 B = 64 KiB partial it writes and the reduction reads
    // back: the workspace adds at most 1/16 to the traffic. kMaxSplitK = 16 caps it.
    int64_t by_sms = tiles > 0 ? sm_count / tiles : 1;
    int64_t by_length = k / kMinSliceK;
    return static_cast<int>(std::max<int64_t>(1, std::min({by_sms, by_length, static_cast<int64_t>(kMaxSplitK)})));
}

GemmConfig choose_gemm_config(const GemmProblem& p, int sm_count, bool split_k) {
    auto tiles = [&](int64_t t) { return ((p.m + t - 1) / t) * ((p.n + t - 1) / t) * p.batch(); };
    // 128 x 128 tiles reuse each loaded element 128 times; use them when there are enough of them
    // to give every SM a block (counting split-K slices), else 64 x 64 tiles (4x the blocks, half
    // the reuse).
    const int split = split_k ? split_k_slices(tiles(128), p.k, sm_count) : 1;
    bool big = tiles(128) >= sm_count || split > 1;
    GemmConfig c;
    c.split_k = split;
    if (p.dtype == DType::f32) {
        c.kind = GemmKind::Simt;
        c.tile_m = c.tile_n = big ? 128 : 64;
        c.tile_k = big ? 8 : 16;  // 8 (16) k-steps per tile: 4 elements of A and B per thread per stage
        c.warps_m = 2;
        c.warps_n = 4;
    } else {
        c.kind = GemmKind::Mma;
        c.tile_m = c.tile_n = big ? 128 : 64;
        c.tile_k = 32;  // two m16n8k16 steps per stage
        c.warps_m = 2;
        c.warps_n = big ? 4 : 2;
    }
    // SIMT: double buffering through registers. MMA: three cp.async stages, two k-tiles in flight
    // behind the one multiplying; 3 x (128 + 128) x 32 bf16 = 48 KB. Four stages (64 KB, in dynamic
    // shared memory) are in the tuner's space; not the default before a GPU has measured them.
    c.stages = p.dtype == DType::f32 ? 2 : 3;
    c.validate();
    return c;
}

}  // namespace pg::gemm
