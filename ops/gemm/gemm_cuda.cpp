// The CUDA GEMM template (see gemm_cuda.h): the instance constants are generated, the two kernel
// bodies (SIMT f32 and tensor-core mma.sync for bf16/f16) are fixed text below.
//
// Both stage tiles through registers: the global loads of tile k+1 are issued before the
// multiply of tile k and stored to the other shared-memory buffer after it, so one
// __syncthreads per k-tile orders everything (stages = 2; stages = 1 adds a second barrier).
// Out-of-range rows, columns and k are zero-filled, so any shape works.
//
// mma.sync.m16n8k16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point
// type"), with g = lane / 4 and t = lane % 4:
//   A (16 x 16, row): reg0 = (g, 2t..2t+1), reg1 = (g+8, 2t..), reg2 = (g, 2t+8..), reg3 = (g+8, 2t+8..)
//   B (16 x 8, col):  reg0 = (k 2t..2t+1, n g), reg1 = (k 2t+8.., n g)
//   C (16 x 8, f32):  c0,c1 = (g, 2t..2t+1), c2,c3 = (g+8, 2t..2t+1)
// Both operands are kept k-contiguous in shared memory (As[m][k], Bs[n][k], rows padded by 8
// elements so that the 8 rows a fragment load touches fall in distinct banks), which makes every
// fragment register one aligned 32-bit load.
#include "ops/gemm/gemm_cuda.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace pg::gemm {
namespace {

constexpr std::string_view kCommon = R"CUDA(
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ void from_f32(float* out, float x) { *out = x; }
__device__ __forceinline__ void from_f32(pg_u16* out, float x) { *out = IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }
)CUDA";

constexpr std::string_view kSimt = R"CUDA(
constexpr int TM = BM / 16, TN = BN / 16;
constexpr int A_LOADS = BM * BK / THREADS, B_LOADS = BN * BK / THREADS;
constexpr int KT = (K + BK - 1) / BK;

// Thread l of a stage loads element (mi, ki) of the A tile and (ki, ni) of the B tile, walking
// the operand's contiguous dimension fastest so that a warp's loads coalesce.
__device__ __forceinline__ void simt_fetch(const T* A, const T* B, int m0, int n0, int k0, float* ra, float* rb) {
#pragma unroll
    for (int e = 0; e < A_LOADS; ++e) {
        const int l = (int)threadIdx.x + e * THREADS;
        const int mi = TRANS_A ? l % BM : l / BK, ki = TRANS_A ? l / BM : l % BK;
        const int gm = m0 + mi, gk = k0 + ki;
        ra[e] = (gm < M && gk < K) ? to_f32(A[TRANS_A ? (long long)gk * LDA + gm : (long long)gm * LDA + gk]) : 0.0f;
    }
#pragma unroll
    for (int e = 0; e < B_LOADS; ++e) {
        const int l = (int)threadIdx.x + e * THREADS;
        const int ni = TRANS_B ? l / BK : l % BN, ki = TRANS_B ? l % BK : l / BN;
        const int gn = n0 + ni, gk = k0 + ki;
        rb[e] = (gn < N && gk < K) ? to_f32(B[TRANS_B ? (long long)gn * LDB + gk : (long long)gk * LDB + gn]) : 0.0f;
    }
}

__device__ __forceinline__ void simt_stash(float (*as)[BM + 4], float (*bs)[BN + 4], const float* ra, const float* rb) {
#pragma unroll
    for (int e = 0; e < A_LOADS; ++e) {
        const int l = (int)threadIdx.x + e * THREADS;
        as[TRANS_A ? l / BM : l % BK][TRANS_A ? l % BM : l / BK] = ra[e];
    }
#pragma unroll
    for (int e = 0; e < B_LOADS; ++e) {
        const int l = (int)threadIdx.x + e * THREADS;
        bs[TRANS_B ? l % BK : l / BN][TRANS_B ? l / BK : l % BN] = rb[e];
    }
}

__device__ __forceinline__ void run(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B) {
    // k-major tiles: a thread reads TM consecutive m (TN consecutive n) per k step; the +4
    // padding keeps rows 16-byte aligned and staggers the banks of consecutive k rows.
    __shared__ __align__(16) float As[STAGES][BK][BM + 4];
    __shared__ __align__(16) float Bs[STAGES][BK][BN + 4];
    const int tx = (int)threadIdx.x % 16, ty = (int)threadIdx.x / 16;
    for (long long bz = blockIdx.z; bz < BATCH; bz += gridDim.z) {
        const T* Ab = A + a_offset(bz);
        const T* Bb = B + b_offset(bz);
        T* Cb = C + bz * ((long long)M * N);
        for (int m0 = (int)blockIdx.y * BM; m0 < M; m0 += (int)gridDim.y * BM) {
            const int n0 = (int)blockIdx.x * BN;
            float acc[TM][TN];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
            float ra[A_LOADS], rb[B_LOADS];
            simt_fetch(Ab, Bb, m0, n0, 0, ra, rb);
            simt_stash(As[0], Bs[0], ra, rb);
            __syncthreads();
            for (int kt = 0; kt < KT; ++kt) {
                const int cur = STAGES == 1 ? 0 : (kt & 1);
                if (kt + 1 < KT) simt_fetch(Ab, Bb, m0, n0, (kt + 1) * BK, ra, rb);
#pragma unroll
                for (int kk = 0; kk < BK; ++kk) {
                    float a[TM], b[TN];
#pragma unroll
                    for (int i = 0; i < TM; ++i) a[i] = As[cur][kk][ty * TM + i];
#pragma unroll
                    for (int j = 0; j < TN; ++j) b[j] = Bs[cur][kk][tx * TN + j];
#pragma unroll
                    for (int i = 0; i < TM; ++i)
#pragma unroll
                        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
                }
                if (kt + 1 < KT) {
                    if (STAGES == 1) __syncthreads();
                    const int nxt = STAGES == 1 ? 0 : ((kt + 1) & 1);
                    simt_stash(As[nxt], Bs[nxt], ra, rb);
                }
                __syncthreads();
            }
#pragma unroll
            for (int i = 0; i < TM; ++i) {
                const int gm = m0 + ty * TM + i;
                if (gm >= M) continue;
#pragma unroll
                for (int j = 0; j < TN; ++j) {
                    const int gn = n0 + tx * TN + j;
                    if (gn < N) from_f32(&Cb[(long long)gm * N + gn], acc[i][j]);
                }
            }
        }
    }
}
)CUDA";

constexpr std::string_view kMma = R"CUDA(
constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;  // the warp's tile
constexpr int MI = WM / 16, NI = WN / 8;              // m16n8k16 steps per warp tile
constexpr int LDS = BK + 8;                           // shared row length in elements (padded)
constexpr int A_CHUNKS = BM * BK / 8 / THREADS, B_CHUNKS = BN * BK / 8 / THREADS;
constexpr int KT = (K + BK - 1) / BK;
typedef PgVec<pg_u16, 8> Chunk;  // 8 elements, 16 bytes

__device__ __forceinline__ void mma16816(float* c, const pg_u32* a, const pg_u32* b) {
#ifdef __CUDA_ARCH__
    if (IS_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    // The host compiler of the CPU emulation tests: the same product from the documented fragment
    // layout, the warp's registers exchanged through shared memory.
    __shared__ pg_u32 frag_a[THREADS][4], frag_b[THREADS][2];
    const int lane = (int)threadIdx.x & 31, base = (int)threadIdx.x - lane, g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) frag_a[threadIdx.x][i] = a[i];
    for (int i = 0; i < 2; ++i) frag_b[threadIdx.x][i] = b[i];
    __syncwarp();
    for (int out = 0; out < 4; ++out) {
        const int row = g + (out >= 2 ? 8 : 0), col = 2 * t + (out & 1);
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k) {
            const pg_u32 ar = frag_a[base + (row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)];
            const pg_u32 br = frag_b[base + col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0];
            const pg_u16 ah = (pg_u16)(ar >> (16 * (k & 1))), bh = (pg_u16)(br >> (16 * (k & 1)));
            sum += to_f32(ah) * to_f32(bh);
        }
        c[out] += sum;
    }
    __syncwarp();
#endif
}

// Loads this thread's chunks of a ROWS x BK operand tile (rows r0.., k k0..) into registers.
// KCONTIG: the operand is k-contiguous in memory (a chunk is 8 k of one row), else
// row-contiguous (a chunk is 8 rows at one k). VEC: chunks are aligned 16-byte loads.
template <bool KCONTIG, bool VEC, int ROWS, int CHUNKS>
__device__ __forceinline__ void mma_fetch(const T* src, long long ld, int rows, int r0, int k0, Chunk* reg) {
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int l = (int)threadIdx.x + c * THREADS;
        if (KCONTIG) {
            const int gr = r0 + l / (BK / 8), gk = k0 + (l % (BK / 8)) * 8;
            const T* p = src + (long long)gr * ld + gk;
            if (VEC) {
                if (gr < rows && gk < K) {
                    reg[c] = pg_load_vec<pg_u16, 8>(p);
                } else {
#pragma unroll
                    for (int e = 0; e < 8; ++e) reg[c].v[e] = 0;
                }
            } else {
#pragma unroll
                for (int e = 0; e < 8; ++e) reg[c].v[e] = (gr < rows && gk + e < K) ? p[e] : (pg_u16)0;
            }
        } else {
            const int gk = k0 + l / (ROWS / 8), gr = r0 + (l % (ROWS / 8)) * 8;
            const T* p = src + (long long)gk * ld + gr;
            if (VEC) {
                if (gk < K && gr < rows) {
                    reg[c] = pg_load_vec<pg_u16, 8>(p);
                } else {
#pragma unroll
                    for (int e = 0; e < 8; ++e) reg[c].v[e] = 0;
                }
            } else {
#pragma unroll
                for (int e = 0; e < 8; ++e) reg[c].v[e] = (gk < K && gr + e < rows) ? p[e] : (pg_u16)0;
            }
        }
    }
}

template <bool KCONTIG, int ROWS, int CHUNKS>
__device__ __forceinline__ void mma_stash(pg_u16 (*tile)[LDS], const Chunk* reg) {
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int l = (int)threadIdx.x + c * THREADS;
        if (KCONTIG) {
            *reinterpret_cast<Chunk*>(&tile[l / (BK / 8)][(l % (BK / 8)) * 8]) = reg[c];
        } else {
            const int ki = l / (ROWS / 8), rc = (l % (ROWS / 8)) * 8;
#pragma unroll
            for (int e = 0; e < 8; ++e) tile[rc + e][ki] = reg[c].v[e];
        }
    }
}

__device__ __forceinline__ void run(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B) {
    __shared__ __align__(16) pg_u16 As[STAGES][BM][LDS];
    __shared__ __align__(16) pg_u16 Bs[STAGES][BN][LDS];
    const int warp = (int)threadIdx.x >> 5, lane = (int)threadIdx.x & 31;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N, g = lane >> 2, t4 = lane & 3;
    for (long long bz = blockIdx.z; bz < BATCH; bz += gridDim.z) {
        const T* Ab = A + a_offset(bz);
        const T* Bb = B + b_offset(bz);
        T* Cb = C + bz * ((long long)M * N);
        for (int m0 = (int)blockIdx.y * BM; m0 < M; m0 += (int)gridDim.y * BM) {
            const int n0 = (int)blockIdx.x * BN;
            float acc[MI][NI][4];
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j)
#pragma unroll
                    for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
            Chunk ra[A_CHUNKS], rb[B_CHUNKS];
            mma_fetch<!TRANS_A, A_VEC, BM, A_CHUNKS>(Ab, LDA, M, m0, 0, ra);
            mma_fetch<TRANS_B, B_VEC, BN, B_CHUNKS>(Bb, LDB, N, n0, 0, rb);
            mma_stash<!TRANS_A, BM, A_CHUNKS>(As[0], ra);
            mma_stash<TRANS_B, BN, B_CHUNKS>(Bs[0], rb);
            __syncthreads();
            for (int kt = 0; kt < KT; ++kt) {
                const int cur = STAGES == 1 ? 0 : (kt & 1);
                if (kt + 1 < KT) {
                    mma_fetch<!TRANS_A, A_VEC, BM, A_CHUNKS>(Ab, LDA, M, m0, (kt + 1) * BK, ra);
                    mma_fetch<TRANS_B, B_VEC, BN, B_CHUNKS>(Bb, LDB, N, n0, (kt + 1) * BK, rb);
                }
#pragma unroll
                for (int ks = 0; ks < BK / 16; ++ks) {
                    const int c0 = ks * 16 + t4 * 2;
                    pg_u32 af[MI][4], bf[NI][2];
#pragma unroll
                    for (int i = 0; i < MI; ++i) {
                        const int r0 = wm * WM + i * 16 + g;
                        af[i][0] = *reinterpret_cast<const pg_u32*>(&As[cur][r0][c0]);
                        af[i][1] = *reinterpret_cast<const pg_u32*>(&As[cur][r0 + 8][c0]);
                        af[i][2] = *reinterpret_cast<const pg_u32*>(&As[cur][r0][c0 + 8]);
                        af[i][3] = *reinterpret_cast<const pg_u32*>(&As[cur][r0 + 8][c0 + 8]);
                    }
#pragma unroll
                    for (int j = 0; j < NI; ++j) {
                        const int nr = wn * WN + j * 8 + g;
                        bf[j][0] = *reinterpret_cast<const pg_u32*>(&Bs[cur][nr][c0]);
                        bf[j][1] = *reinterpret_cast<const pg_u32*>(&Bs[cur][nr][c0 + 8]);
                    }
#pragma unroll
                    for (int i = 0; i < MI; ++i)
#pragma unroll
                        for (int j = 0; j < NI; ++j) mma16816(acc[i][j], af[i], bf[j]);
                }
                if (kt + 1 < KT) {
                    if (STAGES == 1) __syncthreads();
                    const int nxt = STAGES == 1 ? 0 : ((kt + 1) & 1);
                    mma_stash<!TRANS_A, BM, A_CHUNKS>(As[nxt], ra);
                    mma_stash<TRANS_B, BN, B_CHUNKS>(Bs[nxt], rb);
                }
                __syncthreads();
            }
#pragma unroll
            for (int i = 0; i < MI; ++i) {
#pragma unroll
                for (int j = 0; j < NI; ++j) {
                    const int r = m0 + wm * WM + i * 16 + g, c = n0 + wn * WN + j * 8 + t4 * 2;
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const int gm = r + 8 * h;
                        if (gm >= M) continue;
                        if (c < N) from_f32(&Cb[(long long)gm * N + c], acc[i][j][2 * h]);
                        if (c + 1 < N) from_f32(&Cb[(long long)gm * N + c + 1], acc[i][j][2 * h + 1]);
                    }
                }
            }
        }
    }
}
)CUDA";

// "long long x_offset(long long b)": the batch decomposition of an operand's offsets.
std::string offset_fn(const char* name, int64_t base, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
    std::string s = fmt::format("__device__ __forceinline__ long long {}(long long b) {{\n    long long o = {}LL;\n", name, base);
    for (size_t d = shape.size(); d-- > 0;) {
        if (shape[d] == 1) continue;
        if (strides[d] != 0) s += fmt::format("    o += (b % {}LL) * {}LL;\n", shape[d], strides[d]);
        s += fmt::format("    b /= {}LL;\n", shape[d]);
    }
    return s + "    (void)b;\n    return o;\n}\n";
}

// Whether every 8-element chunk of an operand starts 16-byte aligned: the leading dimension,
// the offsets and the contiguous extent are multiples of 8 elements.
bool chunks_aligned(int64_t ld, int64_t offset, const std::vector<int64_t>& strides, int64_t contiguous_extent) {
    if (ld % 8 != 0 || offset % 8 != 0 || contiguous_extent % 8 != 0) return false;
    return std::all_of(strides.begin(), strides.end(), [](int64_t s) { return s % 8 == 0; });
}

}  // namespace

std::string gemm_cuda_source(const GemmProblem& p, const GemmConfig& c, const std::string& entry) {
    p.validate();
    c.validate();
    PG_ASSERT((c.kind == GemmKind::Mma) == (p.dtype != DType::f32), "GEMM {} for a {} problem", c.to_string(),
              dtype_name(p.dtype));
    PG_ASSERT(p.m <= INT32_MAX && p.n <= INT32_MAX && p.k <= INT32_MAX, "GEMM extents beyond int32");
    // The namespace is named after the entry, so that instances compile side by side.
    const std::string ns = entry + "_ns";
    std::string s = fmt::format("// GEMM {} {}x{}x{} batch {} {}{} lda {} ldb {}\nnamespace {} {{\n", c.to_string(), p.m,
                                p.n, p.k, p.batch(), p.trans_a ? "At" : "A", p.trans_b ? "Bt" : "B", p.lda, p.ldb, ns);
    s += fmt::format("typedef {} T;\nconstexpr bool IS_BF16 = {};\n", p.dtype == DType::f32 ? "float" : "pg_u16",
                     p.dtype == DType::bf16 ? "true" : "false");
    s += fmt::format("constexpr int M = {}, N = {}, K = {};\nconstexpr long long LDA = {}LL, LDB = {}LL, BATCH = {}LL;\n",
                     p.m, p.n, p.k, p.lda, p.ldb, p.batch());
    s += fmt::format("constexpr bool TRANS_A = {}, TRANS_B = {};\n", p.trans_a, p.trans_b);
    s += fmt::format("constexpr int BM = {}, BN = {}, BK = {}, WARPS_M = {}, WARPS_N = {}, STAGES = {};\n", c.tile_m,
                     c.tile_n, c.tile_k, c.warps_m, c.warps_n, c.stages);
    s += "constexpr int THREADS = WARPS_M * WARPS_N * 32;\n";
    if (c.kind == GemmKind::Mma) {
        bool a_vec = chunks_aligned(p.lda, p.a_offset, p.a_batch_strides, p.trans_a ? p.m : p.k);
        bool b_vec = chunks_aligned(p.ldb, p.b_offset, p.b_batch_strides, p.trans_b ? p.k : p.n);
        s += fmt::format("constexpr bool A_VEC = {}, B_VEC = {};\n", a_vec, b_vec);
    }
    s += offset_fn("a_offset", p.a_offset, p.batch_shape, p.a_batch_strides);
    s += offset_fn("b_offset", p.b_offset, p.batch_shape, p.b_batch_strides);
    s += kCommon;
    s += c.kind == GemmKind::Mma ? kMma : kSimt;
    s += fmt::format("}}  // namespace {}\n\n", ns);
    s += fmt::format("extern \"C\" __global__ void __launch_bounds__({0}) {1}({2}::T* __restrict__ C, "
                     "const {2}::T* __restrict__ A, const {2}::T* __restrict__ B) {{\n    {2}::run(C, A, B);\n}}\n",
                     c.threads(), entry, ns);
    return s;
}

std::array<int64_t, 3> gemm_grid(const GemmProblem& p, const GemmConfig& c) {
    // y and z are limited to 65535 by the hardware; the kernel loops over the rest.
    return {(p.n + c.tile_n - 1) / c.tile_n, std::min<int64_t>((p.m + c.tile_m - 1) / c.tile_m, 65535),
            std::min<int64_t>(p.batch(), 65535)};
}

}  // namespace pg::gemm
