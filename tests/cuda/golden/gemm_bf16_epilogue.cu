// golden: gemm_bf16_epilogue (gemm mma 64x64x32 w2x2 s3 256x192x128 batch 1; epilogue, product not stored)
// GEMM mma 64x64x32 w2x2 s3 256x192x128 batch 1 AB lda 128 ldb 192 with epilogue
namespace gemm_96ea008cc711_ns {
typedef pg_u16 T;
constexpr bool IS_BF16 = true;
constexpr int M = 256, N = 192, K = 128;
constexpr long long LDA = 128LL, LDB = 192LL, BATCH = 1LL;
constexpr bool TRANS_A = false, TRANS_B = false;
constexpr int BM = 64, BN = 64, BK = 32, WARPS_M = 2, WARPS_N = 2, STAGES = 3, SPLIT = 1;
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
struct Epilogue {
    const pg_u16* b1;
    const float* b2;
    pg_u16* b3;
};
__device__ __forceinline__ void epilogue(const Epilogue& ep, long long pg_i, float pg_v) {
    const pg_u16* __restrict__ b1 = ep.b1;
    const float* __restrict__ b2 = ep.b2;
    pg_u16* __restrict__ b3 = ep.b3;
    const pg_u16 pg_c = pg_f32_to_bf16(pg_v);
    const int i0_0 = (int)((pg_u32)pg_i / 192u);
    const int i1_1 = (int)(((pg_u32)pg_i) % 192u);
    const float v2 = pg_bf16_to_f32(b1[(((((int)((pg_u32)(i0_0) / (pg_u32)(64))) * 12288) + (((int)((pg_u32)(i0_0) % (pg_u32)(64))) * 192)) + i1_1)]);
    const float v3 = b2[i1_1];
    const float t4 = pg_round_bf16(v3);
    const float v5 = pg_bf16_to_f32(pg_c);
    const float t6 = pg_relu(v5);
    const float t7 = pg_round_bf16((t4 * t6));
    const float t8 = pg_round_bf16((v2 + t7));
    b3[((i0_0 * 192) + i1_1)] = pg_f32_to_bf16(t8);
}
constexpr bool HAS_EPILOGUE = true, STORE_C = false;

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

#ifdef __CUDA_ARCH__
// The compiler's own conversion (not inline cvta asm): it folds the generic -> shared arithmetic
// of the dynamic shared-memory tiles into 32-bit offsets; with the asm the 64 x 64 GEMM instance
// needed 96 registers and spilled 28 bytes (ptxas, sm_90a).
__device__ __forceinline__ pg_u32 smem_address(const void* p) { return (pg_u32)__cvta_generic_to_shared(p); }
#endif

// 16 bytes from global to shared memory without a register round trip; src_bytes 0 zero-fills.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_address(dst)), "l"(src), "r"(src_bytes));
#else
    pg_emu_cp_async16(dst, src, src_bytes);
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.commit_group;");
#else
    pg_emu_cp_async_commit();
#endif
}
// Waits until at most N of this thread's committed copy groups are still in flight.
template <int N> __device__ __forceinline__ void cp_async_wait() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.wait_group %0;" ::"n"(N));
#else
    pg_emu_cp_async_wait(N);
#endif
}

// COUNT 8x8 b16 matrices from shared memory, lanes 8q..8q+7 giving the rows of matrix q; TRANS
// delivers each matrix transposed.
template <int COUNT, bool TRANS> __device__ __forceinline__ void ldmatrix(pg_u32* r, const pg_u16* row) {
#ifdef __CUDA_ARCH__
    if (COUNT == 4 && !TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(row)));
    if (COUNT == 4 && TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(row)));
    if (COUNT == 2 && !TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(smem_address(row)));
    if (COUNT == 2 && TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];"
                     : "=r"(r[0]), "=r"(r[1]) : "r"(smem_address(row)));
#else
    pg_emu_ldmatrix(r, row, COUNT, TRANS);
#endif
}

// Element offset of (row r, column x) in a shared tile of COLS columns whose 16-byte chunks are
// XOR-swizzled (see the file comment): chunk c of row r is stored at c ^ ((r / RPL) % SPAN).
template <int COLS> __device__ __forceinline__ int swz(int r, int x) {
    constexpr int CPR = COLS / 8;                          // chunks per row
    constexpr int SPAN = (CPR & -CPR) < 8 ? (CPR & -CPR) : 8;  // XOR stays inside the row
    constexpr int RPL = CPR >= 8 ? 1 : 8 / CPR;            // rows per 128-byte line
    return r * COLS + ((((x >> 3) ^ ((r / RPL) % SPAN))) << 3) + (x & 7);
}

// The A fragment (m16 x k16: rows i0.., k k0..) of a k-contiguous tile (rows = m), as stored.
// Lane l addresses row l % 16 at k half l / 16.
template <int COLS> __device__ __forceinline__ void a_frag(pg_u32* a, const pg_u16* tile, int i0, int k0) {
    const int lane = (int)threadIdx.x & 31;
    ldmatrix<4, false>(a, tile + swz<COLS>(i0 + (lane & 15), k0 + (lane >> 4) * 8));
}

// The A fragment of an m-contiguous tile (rows = k), transposed. Lane l addresses row l % 8 of
// matrix l / 8.
template <int COLS> __device__ __forceinline__ void a_frag_trans(pg_u32* a, const pg_u16* tile, int i0, int k0) {
    const int lane = (int)threadIdx.x & 31, q = lane >> 3, j = lane & 7;
    ldmatrix<4, true>(a, tile + swz<COLS>(k0 + (q >> 1) * 8 + j, i0 + (q & 1) * 8));
}

// The B fragments of COUNT / 2 n8 blocks from n0 (k k0..): b[0..1] the first, b[2..3] the second.
// K_ROWS: the tile's rows are k (n-contiguous, read transposed); else its rows are n
// (k-contiguous, read as stored).
template <int COUNT, bool K_ROWS, int COLS> __device__ __forceinline__ void b_frags(pg_u32* b, const pg_u16* tile, int n0, int k0) {
    const int lane = (int)threadIdx.x & 31, q = COUNT == 4 ? lane >> 3 : (lane >> 3) & 1, j = lane & 7;
    if (K_ROWS) ldmatrix<COUNT, true>(b, tile + swz<COLS>(k0 + (q & 1) * 8 + j, n0 + (q >> 1) * 8));
    else ldmatrix<COUNT, false>(b, tile + swz<COLS>(n0 + (q >> 1) * 8 + j, k0 + (q & 1) * 8));
}

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
}  // namespace gemm_96ea008cc711_ns

extern "C" __global__ void __launch_bounds__(128, 1) gemm_96ea008cc711(const gemm_96ea008cc711_ns::T* __restrict__ A, const gemm_96ea008cc711_ns::T* __restrict__ B, const pg_u16* __restrict__ b1, const float* __restrict__ b2, pg_u16* __restrict__ b3) {
    gemm_96ea008cc711_ns::run(nullptr, A, B, nullptr, gemm_96ea008cc711_ns::Epilogue{b1, b2, b3});
}
