// The CUDA linear cross-entropy template (see linear_ce_cuda.h): the instance constants are
// generated, the pass bodies are fixed text below; each runs the algorithm of the CPU version
// (linear_ce_cpu.h) on shared-memory tiles.
//
// A block of 8 warps owns 64 rows of its output side (tokens; vocab rows for GradW) and walks the
// other side in tiles of 64. The 64 x 64 logits tile is x_rows · w_rowsᵀ over d in chunks of 32,
// both operands k-contiguous, staged in shared memory as 32-bit words (two 16-bit elements) with
// rows padded to 20 words, so that the fragment reads of 8 rows x 4 words hit 32 distinct banks.
// Warp (wr, wc) = (warp / 2, warp % 2) holds rows 16 wr.. and columns 32 wc.. of the tile in
// m16n8k16 accumulators. Each logit is rounded to x's dtype (as the unfused matmul stores it),
// then softcapped in f32.
//   Forward: per row the running max and sum of exp over the vocab tiles (quad shuffles within a
//   warp, the two column warps through shared memory), and the target's logit; writes (loss, lse).
//   GradX / GradW: dl of the tile (the decomposition's formula, rounded to x's dtype) goes to a
//   shared tile, and out_rows += dl · (the tile's rows of the other operand, columns of this
//   block's chunk), a second mma product whose B operand is read k-strided from shared memory
//   (16-bit loads, padded rows: no bank conflicts; ldmatrix.trans would save the packing).
// Rows past N or V are zero-filled and masked. Operands go global -> registers -> shared
// (no cp.async pipeline yet). The mma product is the GEMM template's (ops/gemm/mma_fragment.h).
#include "ops/cross_entropy/linear_ce_cuda.h"

#include <fmt/format.h>

#include "base/error.h"
#include "ops/gemm/mma_fragment.h"

namespace pg::ce {
namespace {

constexpr std::string_view kCommon = R"CUDA(
constexpr int BM = 64, BN = 64, BK = 32, THREADS = 256;
constexpr int KW = BK / 2 + 4;   // words per row of a k-chunk tile (padded: 20)
constexpr int LW = BN / 2 + 4;   // words per row of the dl tile (padded: 36)
constexpr int PW = DN / 2 + 4;   // words per row of the second operand's chunk
constexpr int NJ = DN / 16;      // n8 steps per warp in the second product
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ pg_u16 from_f32(float x) { return IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }
__device__ __forceinline__ pg_u32 pack2(pg_u16 lo, pg_u16 hi) { return (pg_u32)lo | ((pg_u32)hi << 16); }
__device__ __forceinline__ pg_u16 half_of(pg_u32 w, int n) { return (pg_u16)(w >> (16 * (n & 1))); }
__device__ __forceinline__ float softcap(float l) { return CAP > 0.0f ? CAP * tanhf(l / CAP) : l; }
)CUDA";

// After the helpers above, before their users: the shared tensor-core product (mma_fragment.h).
constexpr std::string_view kTiles = R"CUDA(
// tile[r][w] = the words of row r0 + r (zero at or past len) of the row-major matrix src (rows of
// D elements), columns c0 + 2w, c0 + 2w + 1, for w < WORDS.
template <int WORDS, int LDW>
__device__ __forceinline__ void load_rows(pg_u32 (*tile)[LDW], const pg_u16* src, int r0, int len, int c0) {
    for (int e = (int)threadIdx.x; e < 64 * WORDS; e += THREADS) {
        const int r = e / WORDS, w = e % WORDS;
        tile[r][w] = r0 + r < len ? *(const pg_u32*)(src + (long long)(r0 + r) * D + c0 + 2 * w) : 0u;
    }
}

// s = rows a0.. of a times rows b0.. of b, transposed, over all of D: the warp's 16 x 32 part,
// s[j][e] at row 16 wr + g + 8 (e / 2), column 32 wc + 8 j + 2 t + e % 2.
__device__ __forceinline__ void logits_tile(pg_u32 (*as)[KW], pg_u32 (*bs)[KW], const pg_u16* a, int a0, int a_len,
                                            const pg_u16* b, int b0, int b_len, float (&s)[4][4]) {
    const int lane = (int)threadIdx.x & 31, warp = (int)threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int ra = 16 * (warp >> 1), cb = 32 * (warp & 1);
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[j][e] = 0.0f;
    for (int k0 = 0; k0 < D; k0 += BK) {
        __syncthreads();  // the previous chunk's (or pass's) readers are done
        load_rows<BK / 2>(as, a, a0, a_len, k0);
        load_rows<BK / 2>(bs, b, b0, b_len, k0);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            const int kw = kk / 2 + t;
            const pg_u32 af[4] = {as[ra + g][kw], as[ra + g + 8][kw], as[ra + g][kw + 4], as[ra + g + 8][kw + 4]};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const pg_u32 bf[2] = {bs[cb + 8 * j + g][kw], bs[cb + 8 * j + g][kw + 4]};
                mma16816(s[j], af, bf);
            }
        }
    }
}
)CUDA";

constexpr std::string_view kForward = R"CUDA(
__device__ __forceinline__ void run(float* out, const pg_u16* x, const pg_u16* w, const TARGET* targets) {
    __shared__ pg_u32 as[BM][KW], bs[BN][KW];
    __shared__ float red[2][BM], zt_s[BM];
    __shared__ long long tgt_s[BM];
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int ra = 16 * (warp >> 1), cb = 32 * (warp & 1), i0 = (int)blockIdx.x * BM;
    const float inf = __uint_as_float(0x7f800000u);
    if (tid < BM) {
        zt_s[tid] = 0.0f;  // an out-of-range target picks nothing: loss = lse
        tgt_s[tid] = i0 + tid < N ? (long long)targets[i0 + tid] : -1;
    }
    float m[2] = {-inf, -inf}, l[2] = {0.0f, 0.0f};
    for (int j0 = 0; j0 < V; j0 += BN) {
        float s[4][4];
        logits_tile(as, bs, x, i0, N, w, j0, V, s);
        float mx[2] = {-inf, -inf};
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = ra + g + 8 * (e >> 1), vocab = j0 + cb + 8 * j + 2 * t + (e & 1);
                float z = softcap(to_f32(from_f32(s[j][e])));
                if (vocab >= V) z = -inf;
                else if (vocab == tgt_s[row]) zt_s[row] = z;
                s[j][e] = z;
                mx[e >> 1] = pg_fmax(mx[e >> 1], z);
            }
        mx[0] = quad_max(mx[0]);
        mx[1] = quad_max(mx[1]);
        if (t == 0) {
            red[warp & 1][ra + g] = mx[0];
            red[warp & 1][ra + g + 8] = mx[1];
        }
        __syncthreads();
        float mn[2], sum[2] = {0.0f, 0.0f};
#pragma unroll
        for (int h = 0; h < 2; ++h) mn[h] = pg_fmax(m[h], pg_fmax(red[0][ra + g + 8 * h], red[1][ra + g + 8 * h]));
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) sum[e >> 1] += expf(s[j][e] - mn[e >> 1]);
        sum[0] = quad_sum(sum[0]);
        sum[1] = quad_sum(sum[1]);
        __syncthreads();  // every thread has read the maxima
        if (t == 0) {
            red[warp & 1][ra + g] = sum[0];
            red[warp & 1][ra + g + 8] = sum[1];
        }
        __syncthreads();
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // exp(-inf) = 0 on the first tile
            l[h] = l[h] * expf(m[h] - mn[h]) + red[0][ra + g + 8 * h] + red[1][ra + g + 8 * h];
            m[h] = mn[h];
        }
    }
    __syncthreads();  // the target logits are in
    if ((warp & 1) == 0 && t == 0)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = ra + g + 8 * h, i = i0 + row;
            const float lse = m[h] + logf(l[h]);
            if (i < N) {
                out[2 * (long long)i] = lse - zt_s[row];
                out[2 * (long long)i + 1] = lse;
            }
        }
}
)CUDA";

constexpr std::string_view kGrad = R"CUDA(
// The per-token statistics of tokens k0.. (zero past N).
__device__ __forceinline__ void load_tokens(float* lse_s, float* g0_s, float* gs_s, long long* tgt_s, int k0,
                                            const TARGET* targets, const float* stats, const float* grad) {
    const int tid = (int)threadIdx.x, i = k0 + tid;
    if (tid >= 64) return;
    const bool in = i < N;
    lse_s[tid] = in ? stats[2 * (long long)i + 1] : 0.0f;
    g0_s[tid] = in ? grad[2 * (long long)i] : 0.0f;
    gs_s[tid] = in ? grad[2 * (long long)i] + grad[2 * (long long)i + 1] : 0.0f;
    tgt_s[tid] = in ? (long long)targets[i] : -1;
}

__device__ __forceinline__ void run(pg_u16* out, const pg_u16* x, const pg_u16* w, const TARGET* targets,
                                    const float* stats, const float* grad) {
    __shared__ pg_u32 as[BM][KW], bs[BN][KW], dls[BM][LW], ps[BN][PW];
    __shared__ float lse_s[64], g0_s[64], gs_s[64];
    __shared__ long long tgt_s[64];
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int ra = 16 * (warp >> 1), cb = 32 * (warp & 1), cp = (DN / 2) * (warp & 1);
    const pg_u16* a = GRAD_X ? x : w;  // the output's side: its rows
    const pg_u16* b = GRAD_X ? w : x;  // the side walked in tiles
    const int a_len = GRAD_X ? N : V, b_len = GRAD_X ? V : N;
    const int r0 = (int)blockIdx.x * BM, c0 = (int)blockIdx.y * DN;
    float acc[NJ][4];
#pragma unroll
    for (int j = 0; j < NJ; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[j][e] = 0.0f;
    if (GRAD_X) load_tokens(lse_s, g0_s, gs_s, tgt_s, r0, targets, stats, grad);
    for (int k0 = 0; k0 < b_len; k0 += BN) {
        if (!GRAD_X) load_tokens(lse_s, g0_s, gs_s, tgt_s, k0, targets, stats, grad);
        float s[4][4];
        logits_tile(as, bs, a, r0, a_len, b, k0, b_len, s);
        pg_u16 dl[4][4];
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = ra + g + 8 * (e >> 1), col = cb + 8 * j + 2 * t + (e & 1);
                const int tl = GRAD_X ? row : col, token = (GRAD_X ? r0 : k0) + tl, vocab = GRAD_X ? k0 + col : r0 + row;
                float d = 0.0f;
                if (token < N && vocab < V) {
                    const float lv = to_f32(from_f32(s[j][e]));
                    d = expf(softcap(lv) - lse_s[tl]) * gs_s[tl] - (vocab == tgt_s[tl] ? g0_s[tl] : 0.0f);
                    if (CAP > 0.0f) {
                        const float th = tanhf(lv / CAP);
                        d *= 1.0f - th * th;
                    }
                }
                dl[j][e] = from_f32(d);
            }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            dls[ra + g][(cb + 8 * j) / 2 + t] = pack2(dl[j][0], dl[j][1]);
            dls[ra + g + 8][(cb + 8 * j) / 2 + t] = pack2(dl[j][2], dl[j][3]);
        }
        load_rows<DN / 2>(ps, b, k0, b_len, c0);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BN; kk += 16) {  // acc += dl (rows ra.., k = the tile's columns) · ps
            const int kw = kk / 2 + t, k = kk + 2 * t;
            const pg_u32 af[4] = {dls[ra + g][kw], dls[ra + g + 8][kw], dls[ra + g][kw + 4], dls[ra + g + 8][kw + 4]};
#pragma unroll
            for (int j = 0; j < NJ; ++j) {
                const int n = cp + 8 * j + g;
                const pg_u32 bf[2] = {pack2(half_of(ps[k][n / 2], n), half_of(ps[k + 1][n / 2], n)),
                                      pack2(half_of(ps[k + 8][n / 2], n), half_of(ps[k + 9][n / 2], n))};
                mma16816(acc[j], af, bf);
            }
        }
    }
#pragma unroll
    for (int j = 0; j < NJ; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int i = r0 + ra + g + 8 * (e >> 1), c = c0 + cp + 8 * j + 2 * t + (e & 1);
            if (i < a_len) out[(long long)i * D + c] = from_f32(acc[j][e]);
        }
}
)CUDA";

const char* target_type(DType t) { return t == DType::i64 ? "long long" : "int"; }

// __launch_bounds__(256, 2): two blocks per SM (one's barrier waits overlap the other's mma), so
// up to 128 registers a thread. With the thread count alone ptxas aimed at 64 registers for the
// forward at d 512 and spilled 8 bytes; under this bound it takes 86-94, the gradients 119-124.

std::string entry_text(const LinearCeProblem& p, const std::string& entry, const std::string& ns) {
    std::string tt = target_type(p.target_dtype);
    if (p.pass == Pass::Forward)
        return fmt::format("extern \"C\" __global__ void __launch_bounds__({}, 2) {}(float* out, const pg_u16* x, "
                           "const pg_u16* w, const {}* targets) {{\n    {}::run(out, x, w, targets);\n}}\n",
                           kCudaThreads, entry, tt, ns);
    return fmt::format("extern \"C\" __global__ void __launch_bounds__({}, 2) {}(pg_u16* out, const pg_u16* x, "
                       "const pg_u16* w, const {}* targets, const float* stats, const float* grad) {{\n"
                       "    {}::run(out, x, w, targets, stats, grad);\n}}\n",
                       kCudaThreads, entry, tt, ns);
}

}  // namespace

bool cuda_template_serves(DType dtype, int64_t d) {
    return (dtype == DType::bf16 || dtype == DType::f16) && d % kCudaDimMultiple == 0;
}

int64_t cuda_column_chunk(const LinearCeProblem& p) { return p.d % 128 == 0 ? 128 : 64; }

int64_t cuda_logit_passes(const LinearCeProblem& p) { return p.pass == Pass::Forward ? 1 : p.d / cuda_column_chunk(p); }

std::string linear_ce_cuda_source(const LinearCeProblem& p, const std::string& entry) {
    p.validate();
    PG_ASSERT(cuda_template_serves(p.dtype, p.d), "no CUDA linear cross-entropy template for {}", p.to_string());
    PG_ASSERT(p.n <= INT32_MAX / 2 && p.v <= INT32_MAX / 2 && p.d <= 65535 * 128, "linear ce {} beyond the grid",
              p.to_string());
    const std::string ns = entry + "_ns";
    std::string s = fmt::format("// linear cross-entropy {}\nnamespace {} {{\n", p.to_string(), ns);
    s += fmt::format("typedef {} TARGET;\n", target_type(p.target_dtype));
    s += fmt::format("constexpr bool IS_BF16 = {}, GRAD_X = {};\n", p.dtype == DType::bf16, p.pass == Pass::GradX);
    s += fmt::format("constexpr int N = {}, D = {}, V = {}, DN = {};\n", p.n, p.d, p.v, cuda_column_chunk(p));
    s += fmt::format("constexpr float CAP = (float)({:.17g});\n", p.cap);
    s += kCommon;
    s += gemm::mma16816_cuda();
    s += gemm::quad_reduce_cuda();
    s += kTiles;
    s += p.pass == Pass::Forward ? kForward : kGrad;
    s += fmt::format("}}  // namespace {}\n\n", ns);
    return s + entry_text(p, entry, ns);
}

std::array<int64_t, 3> linear_ce_grid(const LinearCeProblem& p) {
    int64_t rows = p.pass == Pass::GradW ? p.v : p.n;
    return {(rows + 63) / 64, p.pass == Pass::Forward ? 1 : p.d / cuda_column_chunk(p), 1};
}

}  // namespace pg::ce
