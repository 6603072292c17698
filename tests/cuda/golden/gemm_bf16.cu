// golden: gemm_bf16 (gemm mma 64x64x32 w2x2 s2 256x192x128 batch 1)
// GEMM mma 64x64x32 w2x2 s2 256x192x128 batch 1 AB lda 128 ldb 192
namespace gemm_08f8966b0050_ns {
typedef pg_u16 T;
constexpr bool IS_BF16 = true;
constexpr int M = 256, N = 192, K = 128;
constexpr long long LDA = 128LL, LDB = 192LL, BATCH = 1LL;
constexpr bool TRANS_A = false, TRANS_B = false;
constexpr int BM = 64, BN = 64, BK = 32, WARPS_M = 2, WARPS_N = 2, STAGES = 2;
constexpr int THREADS = WARPS_M * WARPS_N * 32;
constexpr bool A_VEC = true, B_VEC = true;
__device__ __forceinline__ long long a_offset(long long b) {
    long long o = 0LL;
    (void)b;
    return o;
}
__device__ __forceinline__ long long b_offset(long long b) {
    long long o = 0LL;
    (void)b;
    return o;
}

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ void from_f32(float* out, float x) { *out = x; }
__device__ __forceinline__ void from_f32(pg_u16* out, float x) { *out = IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }

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
}  // namespace gemm_08f8966b0050_ns

extern "C" __global__ void __launch_bounds__(128) gemm_08f8966b0050(gemm_08f8966b0050_ns::T* __restrict__ C, const gemm_08f8966b0050_ns::T* __restrict__ A, const gemm_08f8966b0050_ns::T* __restrict__ B) {
    gemm_08f8966b0050_ns::run(C, A, B);
}
