// golden: gemm_f32 (gemm simt 64x64x16 w2x4 s2 96x80x64 batch 2)
// GEMM simt 64x64x16 w2x4 s2 96x80x64 batch 2 ABt lda 64 ldb 64
namespace gemm_dd7f3a097f68_ns {
typedef float T;
constexpr bool IS_BF16 = false;
constexpr int M = 96, N = 80, K = 64;
constexpr long long LDA = 64LL, LDB = 64LL, BATCH = 2LL;
constexpr bool TRANS_A = false, TRANS_B = true;
constexpr int BM = 64, BN = 64, BK = 16, WARPS_M = 2, WARPS_N = 4, STAGES = 2, SPLIT = 1;
constexpr int THREADS = WARPS_M * WARPS_N * 32;
__device__ __forceinline__ long long a_offset(long long b) {
    long long o = 0LL;
    o += (b % 2LL) * 6144LL;
    b /= 2LL;
    (void)b;
    return o;
}
__device__ __forceinline__ long long b_offset(long long b) {
    long long o = 0LL;
    o += (b % 2LL) * 5120LL;
    b /= 2LL;
    (void)b;
    return o;
}
struct Epilogue {};
__device__ __forceinline__ void epilogue(const Epilogue&, long long, float) {}
constexpr bool HAS_EPILOGUE = false, STORE_C = true;

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
}  // namespace gemm_dd7f3a097f68_ns

extern "C" __global__ void __launch_bounds__(256, 1) gemm_dd7f3a097f68(gemm_dd7f3a097f68_ns::T* __restrict__ C, const gemm_dd7f3a097f68_ns::T* __restrict__ A, const gemm_dd7f3a097f68_ns::T* __restrict__ B) {
    gemm_dd7f3a097f68_ns::run(C, A, B, nullptr, gemm_dd7f3a097f68_ns::Epilogue{});
}
