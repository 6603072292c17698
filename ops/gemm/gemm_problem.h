// A batched GEMM as the GPU schedule gets it, and the tile configuration of its CUDA template.
//
//   C[b] = A[b] * B[b]     C: m x n, row-major, contiguous, batch after batch
//   A[b](i, p) = A[a_offset(b) + i * lda + p]   (trans_a: A[a_offset(b) + p * lda + i])
//   B[b](p, j) = B[b_offset(b) + p * ldb + j]   (trans_b: B[b_offset(b) + j * ldb + p])
// where b runs over batch_shape (row-major) and x_offset(b) = x_offset + sum(index_d * stride_d):
// exactly the strided operand views the CPU's BLAS path reads (codegen/view.h matrix_layout), so
// transposes, slices and broadcast batch dims cost no copy.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/dtype.h"

namespace pg::gemm {

struct GemmProblem {
    DType dtype = DType::f32;  // of A, B and C; products accumulate in f32
    int64_t m = 1, n = 1, k = 1;
    bool trans_a = false, trans_b = false;
    int64_t lda = 1, ldb = 1;
    std::vector<int64_t> batch_shape;
    std::vector<int64_t> a_batch_strides, b_batch_strides;
    int64_t a_offset = 0, b_offset = 0;

    int64_t batch() const;
    double flops() const { return 2.0 * static_cast<double>(batch()) * m * n * k; }
    // Throws InternalError when the fields are inconsistent.
    void validate() const;
};

// The element offset of every batch, row-major over `batch_shape`: offset + sum(index_d * stride_d).
std::vector<int64_t> batch_offsets(const std::vector<int64_t>& batch_shape, const std::vector<int64_t>& strides,
                                   int64_t offset);

enum class GemmKind { Simt, Mma };

// Shared-memory tiles of tile_m x tile_k (A) and tile_k x tile_n (B), `stages` of them (2 =
// double buffering: the next tile loads while the current one multiplies; MMA up to 4, a cp.async
// pipeline with stages - 1 tiles in flight, its tiles in dynamic shared memory, so 4 stages of
// 128x128x32 (64 KiB) fit where the architecture allows, shared_memory.h); warps_m x warps_n
// warps per block. Simt: f32 FMA with a 16 x 16 thread grid, each thread a (tile_m/16) x
// (tile_n/16) micro-tile. Mma: bf16/f16 tensor-core mma.sync m16n8k16 with f32 accumulators,
// each warp a (tile_m/warps_m) x (tile_n/warps_n) tile.
// split_k > 1 (split-K): the k-tiles are dealt out in split_k contiguous slices (the last may be
// shorter or empty), one block per (output tile, slice); each writes its f32 partial tile to a
// workspace and a second kernel sums the slices in slice order into C, so the result does not
// depend on the block schedule (bit-identical runs, PG_DETERMINISTIC or not).
struct GemmConfig {
    GemmKind kind = GemmKind::Simt;
    int tile_m = 128, tile_n = 128, tile_k = 8;
    int warps_m = 2, warps_n = 4;
    int stages = 2;
    int split_k = 1;

    int threads() const { return 32 * warps_m * warps_n; }
    // Bytes of shared memory the tiles take: f32 padded rows (SIMT, static) or 16-bit operands (MMA).
    int shared_bytes() const;
    // What the launch passes as dynamic shared memory: the MMA tiles; 0 for SIMT (static, at most
    // 2 x 16 x (128 + 4) x 4 x 2 = 33 KiB).
    int dynamic_shared_bytes() const { return kind == GemmKind::Mma ? shared_bytes() : 0; }
    std::string to_string() const;  // "mma 128x128x32 w2x4 s2", then " k8" when split_k > 1
    void validate() const;
    bool operator==(const GemmConfig&) const = default;
};

// At most this many split-K slices (the workspace holds split_k f32 partials of C).
constexpr int kMaxSplitK = 16;
// Split-K slices are at least this long in k (see split_k_slices).
constexpr int64_t kMinSliceK = 4096;

// The configuration for a problem: tensor cores for bf16/f16, SIMT for f32 (exact f32 products;
// TF32 would round the operands); 128-wide tiles when they give every SM a block, else 64; with
// `split_k`, long-K products with too few output tiles for the SMs split K (split_k_slices).
GemmConfig choose_gemm_config(const GemmProblem& p, int sm_count = 132, bool split_k = true);

// The split-K heuristic: how many k slices give `tiles` output tiles about one block per SM.
int split_k_slices(int64_t tiles, int64_t k, int sm_count);

}  // namespace pg::gemm
