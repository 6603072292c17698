// The CUDA GEMM template (see gemm_cuda.h): the instance constants are generated, the two kernel
// bodies (SIMT f32 and tensor-core mma.sync for bf16/f16) are fixed text below.
//
// SIMT (f32) stages tiles through registers: the global loads of tile k+1 are issued before the
// multiply of tile k and stored to the other shared-memory buffer after it, so one
// __syncthreads per k-tile orders everything (stages = 2; stages = 1 adds a second barrier).
//
// MMA (bf16/f16) is a cp.async pipeline of `stages` shared-memory buffers (stages - 1 k-tiles in
// flight while one multiplies) in dynamic shared memory: 4 stages of 128x128x32 take 64 KiB, above
// the 48 KiB a kernel may declare statically (GemmConfig::dynamic_shared_bytes, shared_memory.h).
// Each operand tile is kept in its memory order (rows = its non-contiguous dimension), copied
// global -> shared in 16-byte chunks by cp.async (zero-filled past the edges), and read into
// mma fragments by ldmatrix: as stored when the operand is k-contiguous, with ldmatrix.trans
// when it is not (A^T of dW = X^T dY, B of dX = dY W^T), so no layout needs scalar transposing
// stores. Operands whose chunks are not 16-byte aligned are stored element by element instead.
//
// The swizzle of the shared tiles (conflict-free for the cp.async writes and the ldmatrix reads,
// counted by the emulation tests), the cp.async / ldmatrix helpers and the fragment layouts they
// rely on are in tile_access.cpp, shared with the flash-attention template.
//
// Out-of-range rows, columns and k are zero-filled, so any shape works.
//
// Split-K (SPLIT > 1): blockIdx.z runs over (batch, slice) pairs, slice s multiplies k-tiles
// [s * KT_PER, min(KT, (s + 1) * KT_PER)) and stores its f32 tile to the workspace W
// ([SPLIT][BATCH][M][N]) instead of C; the <entry>_reduce kernel then writes
// C = W[0] + W[1] + ... in that order (one thread per element, no atomics: deterministic).
//
// Epilogue (GemmEpilogue): every element's final f32 value goes through finish_element, in the
// main kernel or, with split-K, in the reduction after the slice sum: C is stored unless only the
// epilogue reads it, and the epilogue writes its own outputs of that element (the elementwise
// kernels that read the product, fused: codegen/epilogue_fusion.h).
#include "ops/gemm/gemm_cuda.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"
#include "ops/gemm/mma_fragment.h"
#include "ops/gemm/tile_access.h"

namespace pg::gemm {
namespace {

constexpr std::string_view kCommon = R"CUDA(
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ void from_f32(float* out, float x) { *out = x; }
__device__ __forceinline__ void from_f32(pg_u16* out, float x) { *out = IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }

// Split-K: k-tiles per slice, and the blockIdx.z items (batch, slice).
constexpr int KT_ALL = (K + BK - 1) / BK, KT_PER = (KT_ALL + SPLIT - 1) / SPLIT;
constexpr long long Z_ITEMS = BATCH * SPLIT;
// The k-tiles [kt0, kt0 + count) of z item zz.
__device__ __forceinline__ int slice_start(long long zz) { return (int)(zz % SPLIT) * KT_PER; }
__device__ __forceinline__ int slice_tiles(long long zz) {
    const int kt0 = slice_start(zz), end = kt0 + KT_PER < KT_ALL ? kt0 + KT_PER : KT_ALL;
    return end > kt0 ? end - kt0 : 0;
}
// z item zz's M x N result: C's batch, or with split-K its slice's f32 partial in W.
__device__ __forceinline__ T* result_of(T* C, long long zz) { return SPLIT == 1 ? C + zz * ((long long)M * N) : C; }
__device__ __forceinline__ float* partial_of(float* W, long long zz) {
    return SPLIT == 1 ? W : W + ((zz % SPLIT) * BATCH + zz / SPLIT) * ((long long)M * N);
}
// Offsets inside one result in 32 bits when they fit (a 64-bit offset per store made ptxas spill
// 8 bytes in the 64 x 64 MMA instances).
template <bool FITS> struct ResultIndex { typedef long long type; };
template <> struct ResultIndex<true> { typedef int type; };
typedef ResultIndex<(long long)M * N <= 2147483647LL>::type RIdx;
// The final value v of element e of result Cz, element i of the product (flat over
// [BATCH, M, N]): stored unless the product is not (STORE_C false: only the epilogue reads it),
// then handed to the epilogue.
template <class I> __device__ __forceinline__ void finish_element(T* Cz, I e, const Epilogue& ep, long long i, float v) {
    if (STORE_C) from_f32(&Cz[e], v);
    if (HAS_EPILOGUE) epilogue(ep, i, v);
}
// Element (gm, gn) of z item zz's result: finished, or with split-K stored into the slice's
// partial Wz.
__device__ __forceinline__ void store_result(T* Cz, float* Wz, const Epilogue& ep, long long zz, int gm, int gn, float v) {
    const RIdx e = (RIdx)gm * N + gn;
    if (SPLIT == 1) finish_element(Cz, e, ep, zz * ((long long)M * N) + e, v);
    else Wz[e] = v;
}
)CUDA";

// The split-K reduction: C = the slices' partials summed in slice order.
constexpr std::string_view kReduce = R"CUDA(
__device__ __forceinline__ void reduce_slices(T* __restrict__ C, const float* __restrict__ W, const Epilogue& ep) {
    constexpr long long TOTAL = BATCH * M * (long long)N;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < TOTAL; i += (long long)gridDim.x * blockDim.x) {
        float s = W[i];
#pragma unroll
        for (int p = 1; p < SPLIT; ++p) s += W[p * TOTAL + i];
        finish_element(C, i, ep, i, s);
    }
}
)CUDA";

constexpr std::string_view kSimt = R"CUDA(
constexpr int TM = BM / 16, TN = BN / 16;
constexpr int A_LOADS = BM * BK / THREADS, B_LOADS = BN * BK / THREADS;
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

__device__ __forceinline__ void run(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B, float* W,
                                    const Epilogue& ep) {
    // k-major tiles: a thread reads TM consecutive m (TN consecutive n) per k step; the +4
    // padding keeps rows 16-byte aligned and staggers the banks of consecutive k rows.
    __shared__ __align__(16) float As[STAGES][BK][BM + 4];
    __shared__ __align__(16) float Bs[STAGES][BK][BN + 4];
    const int tx = (int)threadIdx.x % 16, ty = (int)threadIdx.x / 16;
    for (long long zz = blockIdx.z; zz < Z_ITEMS; zz += gridDim.z) {
        const T* Ab = A + a_offset(zz / SPLIT);
        const T* Bb = B + b_offset(zz / SPLIT);
        const int kt0 = slice_start(zz), KT = slice_tiles(zz);
        T* Cz = result_of(C, zz);
        float* Wz = partial_of(W, zz);
        for (int m0 = (int)blockIdx.y * BM; m0 < M; m0 += (int)gridDim.y * BM) {
            const int n0 = (int)blockIdx.x * BN;
            float acc[TM][TN];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
            float ra[A_LOADS], rb[B_LOADS];
            simt_fetch(Ab, Bb, m0, n0, kt0 * BK, ra, rb);
            simt_stash(As[0], Bs[0], ra, rb);
            __syncthreads();
            for (int kt = 0; kt < KT; ++kt) {
                const int cur = STAGES == 1 ? 0 : (kt & 1);
                if (kt + 1 < KT) simt_fetch(Ab, Bb, m0, n0, (kt0 + kt + 1) * BK, ra, rb);
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
                    if (gn < N) store_result(Cz, Wz, ep, zz, gm, gn, acc[i][j]);
                }
            }
        }
    }
}
)CUDA";

constexpr std::string_view kMma = R"CUDA(
constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;  // the warp's tile
constexpr int MI = WM / 16, NI = WN / 8;              // m16n8k16 steps per warp tile
// Shared tiles in the operand's memory order: rows are the non-contiguous dimension.
constexpr int A_ROWS = TRANS_A ? BK : BM, A_COLS = TRANS_A ? BM : BK;
constexpr int B_ROWS = TRANS_B ? BN : BK, B_COLS = TRANS_B ? BK : BN;

// Issues this thread's copies of a ROWS x COLS operand tile whose element (r, x) is
// src[(r0 + r) * ld + c0 + x], valid for r0 + r < rows and c0 + x < cols (zero beyond). VEC:
// every chunk is an aligned 16-byte cp.async; else elements are stored one by one.
template <int ROWS, int COLS, bool VEC>
__device__ __forceinline__ void load_tile(pg_u16* tile, const T* src, long long ld, int r0, int c0, int rows, int cols) {
    constexpr int CHUNKS = ROWS * COLS / 8 / THREADS;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int l = (int)threadIdx.x + c * THREADS;
        const int r = l / (COLS / 8), x = (l % (COLS / 8)) * 8, gr = r0 + r, gc = c0 + x;
        pg_u16* dst = tile + swz<COLS>(r, x);
        const T* p = src + (long long)gr * ld + gc;
        if (VEC) {
            const bool in = gr < rows && gc < cols;
            cp_async16(dst, in ? p : src, in ? 16 : 0);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) dst[e] = (gr < rows && gc + e < cols) ? p[e] : (pg_u16)0;
        }
    }
}

// The copies of k-tile kt into stage buffers `as` and `bs`.
__device__ __forceinline__ void load_stage(pg_u16* as, pg_u16* bs, const T* A, const T* B, int m0, int n0, int kt) {
    const int k0 = kt * BK;
    if (TRANS_A) load_tile<A_ROWS, A_COLS, A_VEC>(as, A, LDA, k0, m0, K, M);
    else load_tile<A_ROWS, A_COLS, A_VEC>(as, A, LDA, m0, k0, M, K);
    if (TRANS_B) load_tile<B_ROWS, B_COLS, B_VEC>(bs, B, LDB, n0, k0, N, K);
    else load_tile<B_ROWS, B_COLS, B_VEC>(bs, B, LDB, k0, n0, K, N);
}

// The A fragments (m16 x k16, rows i0.., k k0..) for mma: k-contiguous tiles load as stored,
// m-contiguous ones transposed.
__device__ __forceinline__ void a_fragment(pg_u32* a, const pg_u16* as, int i0, int k0) {
    if (TRANS_A) a_frag_trans<A_COLS>(a, as, i0, k0);
    else a_frag<A_COLS>(a, as, i0, k0);
}

// The B fragments of COUNT / 2 n8 blocks from n0 (k k0..): b[0..1] the first, b[2..3] the second.
template <int COUNT> __device__ __forceinline__ void b_fragments(pg_u32* b, const pg_u16* bs, int n0, int k0) {
    b_frags<COUNT, !TRANS_B, B_COLS>(b, bs, n0, k0);
}

__device__ __forceinline__ void multiply_stage(float (*acc)[NI][4], const pg_u16* as, const pg_u16* bs, int wm, int wn) {
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
        pg_u32 af[MI][4], bf[NI + 1][2];
#pragma unroll
        for (int i = 0; i < MI; ++i) a_fragment(af[i], as, wm * WM + i * 16, ks * 16);
#pragma unroll
        for (int j = 0; j + 1 < NI; j += 2) b_fragments<4>(bf[j], bs, wn * WN + j * 8, ks * 16);
        if (NI % 2) b_fragments<2>(bf[NI - 1], bs, wn * WN + (NI - 1) * 8, ks * 16);
#pragma unroll
        for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NI; ++j) mma16816(acc[i][j], af[i], bf[j]);
    }
}

// The block tile's results leave through shared memory, row-major: the warps write their
// accumulator fragments into a float tile of CROWS rows at a time (in the stage buffers, free once
// the k-loop is done), then consecutive threads finish consecutive columns, so that C, the split-K
// partials and every buffer of the epilogue are accessed in whole 32-byte sectors (from the
// fragments directly, a warp's 2-element stores spread over 8 rows: a quarter of each sector for
// bf16). Pitch BN + 8 floats: the 8-byte writes of a half warp (rows g..g+3, columns 2 t4) fall in
// 32 distinct banks.
constexpr int CPITCH = BN + 8;
constexpr int CROWS_FIT = STAGES * (BM + BN) * BK / 2 / CPITCH / 8 * 8;
constexpr int CROWS = CROWS_FIT < BM ? CROWS_FIT : BM;
static_assert(CROWS >= 8, "the stage buffers hold fewer than 8 rows of the staged tile");

__device__ __forceinline__ void finish_tile(float (*acc)[NI][4], float* cs, T* Cz, float* Wz, const Epilogue& ep,
                                            long long zz, int m0, int n0, int wm, int wn) {
    const int lane = (int)threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
    cp_async_wait<0>();
    for (int r0 = 0; r0 < BM; r0 += CROWS) {
        __syncthreads();  // the stages, or the previous rows, are read no more
#pragma unroll
        for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NI; ++j)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int r = wm * WM + i * 16 + g + 8 * h - r0;
                    if (r < 0 || r >= CROWS) continue;
                    PgVec<float, 2> v;
                    v.v[0] = acc[i][j][2 * h];
                    v.v[1] = acc[i][j][2 * h + 1];
                    pg_store_vec<float, 2>(cs + r * CPITCH + wn * WN + j * 8 + 2 * t4, v);
                }
        __syncthreads();
        for (int e = (int)threadIdx.x; e < CROWS * BN; e += THREADS) {
            const int r = e / BN, c = e % BN, gm = m0 + r0 + r, gn = n0 + c;
            if (r0 + r < BM && gm < M && gn < N) store_result(Cz, Wz, ep, zz, gm, gn, cs[r * CPITCH + c]);
        }
    }
}

__device__ __forceinline__ void run(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B, float* W,
                                    const Epilogue& ep) {
    // The stages live in dynamic shared memory (the launch passes STAGES * (BM + BN) * BK * 2
    // bytes; above 48 KiB the runtime opts the kernel in first): A's stages, then B's.
#ifdef __CUDA_ARCH__
    extern __shared__ __align__(128) pg_u16 pg_dynamic_smem[];
    pg_u16* smem = pg_dynamic_smem;
#else
    pg_u16* smem = static_cast<pg_u16*>(pg_emu_dynamic_smem(STAGES * (BM + BN) * BK * 2));
#endif
    pg_u16 (*As)[BM * BK] = reinterpret_cast<pg_u16 (*)[BM * BK]>(smem);
    pg_u16 (*Bs)[BN * BK] = reinterpret_cast<pg_u16 (*)[BN * BK]>(smem + STAGES * BM * BK);
    const int warp = (int)threadIdx.x >> 5;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;
    for (long long zz = blockIdx.z; zz < Z_ITEMS; zz += gridDim.z) {
        const T* Ab = A + a_offset(zz / SPLIT);
        const T* Bb = B + b_offset(zz / SPLIT);
        const int kt0 = slice_start(zz), KT = slice_tiles(zz);  // this slice's k-tiles
        T* Cz = result_of(C, zz);
        float* Wz = partial_of(W, zz);
        for (int m0 = (int)blockIdx.y * BM; m0 < M; m0 += (int)gridDim.y * BM) {
            const int n0 = (int)blockIdx.x * BN;
            float acc[MI][NI][4];
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j)
#pragma unroll
                    for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
            // Pipeline: STAGES - 1 k-tiles in flight ahead of the one multiplied. One barrier per
            // k-tile: when a thread passes it, every warp is done with the stage it refills next.
            constexpr int AHEAD = STAGES > 1 ? STAGES - 1 : 0;
#pragma unroll
            for (int s = 0; s < AHEAD; ++s) {
                if (s < KT) load_stage(As[s], Bs[s], Ab, Bb, m0, n0, kt0 + s);
                cp_async_commit();
            }
            for (int kt = 0; kt < KT; ++kt) {
                if (STAGES == 1) {
                    load_stage(As[0], Bs[0], Ab, Bb, m0, n0, kt0 + kt);
                    cp_async_commit();
                }
                cp_async_wait<(STAGES > 1 ? STAGES - 2 : 0)>();
                __syncthreads();
                if (STAGES > 1) {
                    const int next = kt + AHEAD;
                    if (next < KT) load_stage(As[next % STAGES], Bs[next % STAGES], Ab, Bb, m0, n0, kt0 + next);
                    cp_async_commit();
                }
                multiply_stage(acc, As[kt % STAGES], Bs[kt % STAGES], wm, wn);
                if (STAGES == 1) __syncthreads();
            }
            finish_tile(acc, reinterpret_cast<float*>(smem), Cz, Wz, ep, zz, m0, n0, wm, wn);
            __syncthreads();  // the next tile's prologue refills stages other warps may still read
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

// The instance's epilogue definitions and constants: `e`'s, or an empty one.
std::string epilogue_definitions(const GemmEpilogue* e) {
    if (!e) return "struct Epilogue {};\n__device__ __forceinline__ void epilogue(const Epilogue&, long long, float) {}\n"
                   "constexpr bool HAS_EPILOGUE = false, STORE_C = true;\n";
    return e->definitions + fmt::format("constexpr bool HAS_EPILOGUE = true, STORE_C = {};\n", e->store_product);
}

// The entry's parameters: C (unless the epilogue alone reads the product), A, B, the epilogue's
// buffers, the split-K workspace.
std::string entry_params(const std::string& ns, const GemmConfig& c, const GemmEpilogue* e) {
    std::string p = !e || e->store_product ? fmt::format("{}::T* __restrict__ C, ", ns) : "";
    p += fmt::format("const {0}::T* __restrict__ A, const {0}::T* __restrict__ B", ns);
    if (e && !e->params.empty()) p += ", " + e->params;
    return p + (c.split_k > 1 ? ", float* __restrict__ W" : "");
}

// "(C, A, B, W, Epilogue{...})": the arguments of run / reduce_slices.
std::string run_args(const std::string& ns, const GemmConfig& c, const GemmEpilogue* e, bool with_ab) {
    std::string args = !e || e->store_product ? "C" : "nullptr";
    if (with_ab) args += ", A, B";
    args += c.split_k > 1 ? ", W" : with_ab ? ", nullptr" : "";
    return args + fmt::format(", {}::Epilogue{{{}}}", ns, e ? e->init : "");
}

}  // namespace

std::string gemm_cuda_source(const GemmProblem& p, const GemmConfig& c, const std::string& entry, const GemmEpilogue* epilogue) {
    p.validate();
    c.validate();
    PG_ASSERT((c.kind == GemmKind::Mma) == (p.dtype != DType::f32), "GEMM {} for a {} problem", c.to_string(),
              dtype_name(p.dtype));
    PG_ASSERT(p.m <= INT32_MAX && p.n <= INT32_MAX && p.k <= INT32_MAX, "GEMM extents beyond int32");
    // The namespace is named after the entry, so that instances compile side by side.
    const std::string ns = entry + "_ns";
    std::string s = fmt::format("// GEMM {} {}x{}x{} batch {} {}{} lda {} ldb {}{}\nnamespace {} {{\n", c.to_string(), p.m,
                                p.n, p.k, p.batch(), p.trans_a ? "At" : "A", p.trans_b ? "Bt" : "B", p.lda, p.ldb,
                                epilogue ? " with epilogue" : "", ns);
    s += fmt::format("typedef {} T;\nconstexpr bool IS_BF16 = {};\n", p.dtype == DType::f32 ? "float" : "pg_u16",
                     p.dtype == DType::bf16 ? "true" : "false");
    s += fmt::format("constexpr int M = {}, N = {}, K = {};\nconstexpr long long LDA = {}LL, LDB = {}LL, BATCH = {}LL;\n",
                     p.m, p.n, p.k, p.lda, p.ldb, p.batch());
    s += fmt::format("constexpr bool TRANS_A = {}, TRANS_B = {};\n", p.trans_a, p.trans_b);
    s += fmt::format("constexpr int BM = {}, BN = {}, BK = {}, WARPS_M = {}, WARPS_N = {}, STAGES = {}, SPLIT = {};\n",
                     c.tile_m, c.tile_n, c.tile_k, c.warps_m, c.warps_n, c.stages, c.split_k);
    s += "constexpr int THREADS = WARPS_M * WARPS_N * 32;\n";
    if (c.kind == GemmKind::Mma) {
        bool a_vec = chunks_aligned(p.lda, p.a_offset, p.a_batch_strides, p.trans_a ? p.m : p.k);
        bool b_vec = chunks_aligned(p.ldb, p.b_offset, p.b_batch_strides, p.trans_b ? p.k : p.n);
        s += fmt::format("constexpr bool A_VEC = {}, B_VEC = {};\n", a_vec, b_vec);
    }
    s += offset_fn("a_offset", p.a_offset, p.batch_shape, p.a_batch_strides);
    s += offset_fn("b_offset", p.b_offset, p.batch_shape, p.b_batch_strides);
    s += epilogue_definitions(epilogue);
    s += kCommon;
    if (c.kind == GemmKind::Mma) {
        s += mma16816_cuda();
        s += tile_access_cuda();
    }
    s += c.kind == GemmKind::Mma ? kMma : kSimt;
    if (c.split_k > 1) s += kReduce;
    s += fmt::format("}}  // namespace {}\n\n", ns);
    const std::string params = entry_params(ns, c, epilogue);
    // Min. 1 block per SM: registers before occupancy. Without it ptxas held the 64 x 64 MMA
    // instance (128 threads) at 80 registers and spilled 12 bytes; with it, 112 and no spill.
    s += fmt::format("extern \"C\" __global__ void __launch_bounds__({}, 1) {}({}) {{\n    {}::run({});\n}}\n",
                     c.threads(), entry, params, ns, run_args(ns, c, epilogue, true));
    if (c.split_k > 1)
        s += fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}_reduce({}) {{\n    {}::reduce_slices({});\n}}\n",
                         kReduceThreads, entry, params, ns, run_args(ns, c, epilogue, false));
    return s;
}

std::array<int64_t, 3> gemm_grid(const GemmProblem& p, const GemmConfig& c) {
    // y and z are limited to 65535 by the hardware; the kernel loops over the rest.
    return {(p.n + c.tile_n - 1) / c.tile_n, std::min<int64_t>((p.m + c.tile_m - 1) / c.tile_m, 65535),
            std::min<int64_t>(p.batch() * c.split_k, 65535)};
}

int64_t gemm_workspace_bytes(const GemmProblem& p, const GemmConfig& c) {
    return c.split_k > 1 ? static_cast<int64_t>(c.split_k) * p.batch() * p.m * p.n * 4 : 0;
}

std::array<int64_t, 3> gemm_reduce_grid(const GemmProblem& p) {
    // One element per thread up to 4096 blocks (31 per SM of an H100: enough to hide the loads),
    // a grid-stride loop beyond.
    return {std::clamp<int64_t>((p.batch() * p.m * p.n + kReduceThreads - 1) / kReduceThreads, 1, 4096), 1, 1};
}

}  // namespace pg::gemm
