// The CUDA flash-attention template (see attention_cuda.h): the instance constants are generated,
// the three pass bodies are fixed text below; each runs the algorithm of the CPU version
// (flash_cpu.h) with its matrix products on tensor cores (mma.sync m16n8k16, 16-bit operands, f32
// accumulators; ops/gemm/mma_fragment.h) and the softmax in f32 registers.
//
// A block of 4 warps owns BM = 64 rows (queries; keys for GradKV), 16 per warp, and walks the
// blocks of BN rows (64; 32 backward at head dim 128) of the other side that the causal mask
// leaves visible. Operand tiles (rows x D, 16-bit) are copied global -> shared by cp.async into
// XOR-swizzled dynamic shared memory (zero-filled past T): the block's own tiles once, the other
// side's in two stages, block n + 1's copies in flight while block n multiplies (one barrier after
// the wait, one before the stage is refilled). Fragments are read by ldmatrix
// (ops/gemm/tile_access.h: the swizzle, conflict-free for both, and the fragment layouts). With
// g = lane / 4, t = lane % 4, a warp's 16 x 8 accumulator tile j holds rows g and g + 8, columns
// 8j + 2t and 8j + 2t + 1 in c0..c3.
//   Forward: S = Q K^T (A: Q tile as stored; B: K tile as stored, its rows are the n of S), the
//     online softmax on S's accumulators (row max and sum over the 4 lanes of a quad by shuffles;
//     running max m and partial sum l per row, kept by each lane of the quad), then O += P V with
//     P taken straight from the accumulators: tiles 2kk and 2kk + 1 of the C layout are the A
//     fragment kk (reg0 = c0,c1 of 2kk, reg1 = c2,c3 of 2kk, reg2/reg3 the same of 2kk + 1),
//     rounded to 16 bits; V's fragments by ldmatrix.trans (its rows are the k of P V).
//   GradQ: S = Q K^T and dP = dO V^T as above, dS = P (dP - delta) SCALE in registers, dQ += dS K
//     (dS as the A fragment, K by ldmatrix.trans).
//   GradKV: the transposed products, so that nothing is staged through shared memory: S^T = K Q^T
//     and dP^T = V dO^T (A: the block's own K and V tiles; B: the query block's Q and dO tiles as
//     stored), P^T and dS^T in registers (the per-query lse and delta are per column, read from
//     shared), then dV += P^T dO and dK += dS^T Q with P^T / dS^T as A fragments and dO / Q by
//     ldmatrix.trans.
// The log-sum-exp is kept in base 2 inside the kernels (scores times SCALE * log2 e, exp2f) and
// stored in base e. Rows past T are zero-filled and masked (their first key is T), so any T works.
// Document masking (DOCS): a row's first visible key is its doc_start (first_s, TLEN for rows past
// the end, which see nothing), the mask becomes first <= j <= i, the forward and dq passes start at
// the key block of their rows' smallest first key, and the dk/dv pass skips the query blocks none
// of whose rows reaches back into its keys. A forward row may then meet key blocks it sees nothing
// of (its document starts later than the block's smallest): its softmax update is skipped while
// its max is still -inf.
#include "ops/attention/attention_cuda.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"
#include "ops/gemm/mma_fragment.h"
#include "ops/gemm/tile_access.h"

namespace pg::attn {
namespace {

// Rows per block: 4 warps of 16 rows (the m of one mma) on the block's own side (BM); BN rows on
// the other side, 64, but 32 for the backward passes at head dim 128: there a thread holds one
// (dq) or two (dk, dv) 16 x 128 f32 accumulators (64 registers each) besides the 16 x BN score
// tiles S and dP (BN / 2 registers each): with BN = 64 the dk/dv pass takes all 255 registers and
// spills 4-8 bytes (sm_80), and both passes' two stages take 96 KiB (one block per A100 SM).
// The tiles take (BM + 4 BN) * D * 2 bytes forward (40 / 80 KiB at head dim 64 / 128) and
// (2 BM + 4 BN) * D * 2 backward (48 / 64 KiB): dynamic shared memory, 2 blocks per H100 SM
// (227 KiB) and per A100 SM (164 KiB) at worst (the forward at head dim 128, whose 175-200
// registers per thread allow no more either).
constexpr int kWarps = 4, kBlockRows = 16 * kWarps;

int other_rows(const AttentionProblem& p) { return p.pass != Pass::Forward && p.d == 128 ? 32 : kBlockRows; }

constexpr std::string_view kCommon = R"CUDA(
constexpr int THREADS = 32 * WARPS, GROUP = H / HKV;
constexpr int NT = BN / 8, DT = D / 8, KD = D / 16, KN = BN / 16, NBN = (TLEN + BN - 1) / BN;
constexpr float LOG2E = 1.44269504088896341f, SCALE2 = SCALE * LOG2E;
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ pg_u16 from_f32(float x) { return IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }
__device__ __forceinline__ pg_u32 pack2(float lo, float hi) { return (pg_u32)from_f32(lo) | ((pg_u32)from_f32(hi) << 16); }
__device__ __forceinline__ long long rows_of(int batch, int head, int heads) { return ((long long)batch * heads + head) * TLEN; }
__device__ __forceinline__ float neg_inf() { return -__uint_as_float(0x7f800000u); }
)CUDA";

constexpr std::string_view kTiles = R"CUDA(
// first[r] = the first key row i0 + r sees: its doc_start (0 without DOCS), TLEN past the end.
template <int ROWS> __device__ __forceinline__ void load_first_keys(int* first, const int* docs, int b, int i0) {
    const int tid = (int)threadIdx.x, i = i0 + tid;
    if (tid < ROWS) first[tid] = i >= TLEN ? TLEN : DOCS ? docs[(long long)b * TLEN + i] : 0;
}

// The smallest of first[0..ROWS) (read by every thread after a barrier).
template <int ROWS> __device__ __forceinline__ int min_first_key(const int* first) {
    int m = TLEN;
    for (int r = 0; r < ROWS; ++r) m = first[r] < m ? first[r] : m;
    return m;
}

// Issues this thread's cp.async copies of rows [r0, r0 + ROWS) of the [TLEN, D] matrix at src
// into a swizzled tile, zero past TLEN: ROWS * D / 8 chunks of 16 bytes, 4 (8) per thread at D 64 (128).
template <int ROWS> __device__ __forceinline__ void load_rows(pg_u16* tile, const pg_u16* src, int r0) {
    constexpr int CPR = D / 8, CHUNKS = ROWS * CPR / THREADS;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int l = (int)threadIdx.x + c * THREADS, r = l / CPR, x = (l % CPR) * 8;
        const bool in = r0 + r < TLEN;
        cp_async16(tile + swz<D>(r, x), in ? src + (long long)(r0 + r) * D + x : src, in ? 16 : 0);
    }
}

// The copies of rows [r0, r0 + ROWS) of two [TLEN, D] matrices into consecutive tiles.
template <int ROWS = BN> __device__ __forceinline__ void load_pair(pg_u16* dst, const pg_u16* a, const pg_u16* b, int r0) {
    load_rows<ROWS>(dst, a, r0);
    load_rows<ROWS>(dst + ROWS * D, b, r0);
}

// s = rows i0..i0+15 of tile a times the BN rows of tile b, transposed (both k-contiguous over D).
// The k loops here and in mac_rows stay rolled: fully unrolled, ptxas hoisted the fragment loads
// of every k step and the dk/dv pass at head dim 128 took all 255 registers and spilled 24 bytes
// (sm_80); rolled it takes 227-229 and the other passes 132-200 (tests/cuda/test_cuda_compile.cpp).
__device__ __forceinline__ void dot_rows(float (*s)[4], const pg_u16* a, int i0, const pg_u16* b) {
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[j][e] = 0.0f;
#pragma unroll 1
    for (int ks = 0; ks < KD; ++ks) {
        pg_u32 af[4];
        a_frag<D>(af, a, i0, ks * 16);
#pragma unroll
        for (int j = 0; j < NT; j += 2) {
            pg_u32 bf[4];
            b_frags<4, false, D>(bf, b, j * 8, ks * 16);
            mma16816(s[j], af, bf);
            mma16816(s[j + 1], af, bf + 2);
        }
    }
}

// pa = the 16 x BN accumulator tiles s as A fragments (k16 step kk = tiles 2kk, 2kk + 1), 16-bit.
__device__ __forceinline__ void to_a_frags(pg_u32 (*pa)[4], const float (*s)[4]) {
#pragma unroll
    for (int kk = 0; kk < KN; ++kk) {
        pa[kk][0] = pack2(s[2 * kk][0], s[2 * kk][1]);
        pa[kk][1] = pack2(s[2 * kk][2], s[2 * kk][3]);
        pa[kk][2] = pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        pa[kk][3] = pack2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
    }
}

// Element e of accumulator tile j as to_a_frags stored it in pa (rounded to 16 bits).
__device__ __forceinline__ float a_frag_value(const pg_u32 (*pa)[4], int j, int e) {
    return to_f32((pg_u16)(pa[j >> 1][2 * (j & 1) + (e >> 1)] >> (16 * (e & 1))));
}

// acc += the 16 x BN A fragments pa times the BN x D tile b (its rows are the k: ldmatrix.trans).
__device__ __forceinline__ void mac_rows(float (*acc)[4], const pg_u32 (*pa)[4], const pg_u16* b) {
#pragma unroll 1
    for (int kk = 0; kk < KN; ++kk)
#pragma unroll
        for (int dt = 0; dt < DT; dt += 2) {
            pg_u32 bf[4];
            b_frags<4, true, D>(bf, b, dt * 8, kk * 16);
            mma16816(acc[dt], pa[kk], bf);
            mma16816(acc[dt + 1], pa[kk], bf + 2);
        }
}

__device__ __forceinline__ void zero(float (*acc)[4]) {
#pragma unroll
    for (int dt = 0; dt < DT; ++dt)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[dt][e] = 0.0f;
}

// Whether element e of the warp's score tile j (rows: queries i0 + wr + g (+ 8), columns: keys
// j0 + 8j + 2t (+ 1)) is visible: causal, below TLEN, not before the row's first key.
__device__ __forceinline__ bool row_sees(int i0, int j0, int j, int e, const int* first) {
    const int lane = (int)threadIdx.x & 31, wr = ((int)threadIdx.x >> 5) * 16;
    const int i = i0 + wr + (lane >> 2) + 8 * (e >> 1), jj = j0 + j * 8 + 2 * (lane & 3) + (e & 1);
    return jj <= i && jj < TLEN && jj >= first[e >> 1];
}

// Stores the warp's accumulator rows r0 + wr + g (+ 8) below TLEN, times f[0] (f[1]), two
// neighbouring 16-bit columns per 32-bit store.
__device__ __forceinline__ void store_rows(pg_u16* dst, int r0, int wr, const float (*acc)[4], const float* f) {
    const int lane = (int)threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int i = r0 + wr + g + 8 * h;
        if (i >= TLEN) continue;
#pragma unroll
        for (int dt = 0; dt < DT; ++dt)
            *reinterpret_cast<pg_u32*>(dst + (long long)i * D + dt * 8 + 2 * t) = pack2(acc[dt][2 * h] * f[h], acc[dt][2 * h + 1] * f[h]);
    }
}

// The block's dynamic shared memory (the launch passes cuda_shared_bytes).
__device__ __forceinline__ pg_u16* tiles(int elements) {
#ifdef __CUDA_ARCH__
    extern __shared__ __align__(128) pg_u16 pg_dynamic_smem[];
    (void)elements;
    return pg_dynamic_smem;
#else
    return static_cast<pg_u16*>(pg_emu_dynamic_smem((size_t)elements * 2));
#endif
}
)CUDA";

constexpr std::string_view kForward = R"CUDA(
// One key block of the forward: S = Q K^T masked and scaled, the online softmax update of the
// rows' max m and partial sum l (this lane's columns; the quad's sum is taken at the end), and
// o = o * exp(m_old - m_new) + P V.
__device__ __forceinline__ void forward_block(float (*o)[4], float* m, float* l, const pg_u16* qs, const pg_u16* ks,
                                              const pg_u16* vs, int i0, int j0, const int* first) {
    float s[NT][4], mx[2] = {m[0], m[1]}, c[2];
    dot_rows(s, qs, ((int)threadIdx.x >> 5) * 16, ks);
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            s[j][e] = row_sees(i0, j0, j, e, first) ? s[j][e] * SCALE2 : neg_inf();
            mx[e >> 1] = pg_fmax(mx[e >> 1], s[j][e]);
        }
#pragma unroll
    for (int r = 0; r < 2; ++r) {  // nothing seen yet: m stays -inf, p = 0, no rescale
        mx[r] = quad_max(mx[r]);
        c[r] = mx[r] == neg_inf() ? 1.0f : exp2f(m[r] - mx[r]);
        m[r] = mx[r];
        l[r] *= c[r];
    }
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int r = e >> 1;
            s[j][e] = m[r] == neg_inf() ? 0.0f : exp2f(s[j][e] - m[r]);
            l[r] += s[j][e];
        }
#pragma unroll
    for (int dt = 0; dt < DT; ++dt)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[dt][e] *= c[e >> 1];
    pg_u32 pa[KN][4];
    to_a_frags(pa, s);
    mac_rows(o, pa, vs);
}

__device__ __forceinline__ void run(pg_u16* out, float* lse, const pg_u16* q, const pg_u16* k, const pg_u16* v,
                                    const int* docs) {
    pg_u16* qs = tiles((BM + 4 * BN) * D);
    pg_u16* kv = qs + BM * D;  // stage s: K at kv + 2 s BN D, V after it
    __shared__ int first_s[BM];
    const int qb = (int)blockIdx.x, h = (int)blockIdx.y, b = (int)blockIdx.z;
    const int lane = (int)threadIdx.x & 31, wr = ((int)threadIdx.x >> 5) * 16, g = lane >> 2, t = lane & 3, i0 = qb * BM;
    const long long qrow = rows_of(b, h, H), kvrow = rows_of(b, h / GROUP, HKV);
    load_rows<BM>(qs, q + qrow * D, i0);
    load_first_keys<BM>(first_s, docs, b, i0);
    __syncthreads();
    const int first[2] = {first_s[wr + g], first_s[wr + g + 8]};
    const int kb0 = DOCS ? min_first_key<BM>(first_s) / BN : 0;
    const int kb1 = ((i0 + BM < TLEN ? i0 + BM : TLEN) - 1) / BN;  // causal: no key block above the diagonal
    load_pair(kv, k + kvrow * D, v + kvrow * D, kb0 * BN);
    cp_async_commit();  // Q and the first key block
    float o[DT][4], m[2] = {neg_inf(), neg_inf()}, l[2] = {0.0f, 0.0f};
    zero(o);
    for (int kb = kb0; kb <= kb1; ++kb) {
        const int cur = (kb - kb0) & 1;
        if (kb < kb1) load_pair(kv + (cur ^ 1) * 2 * BN * D, k + kvrow * D, v + kvrow * D, (kb + 1) * BN);
        cp_async_commit();
        cp_async_wait<1>();  // this key block has landed; the next one is in flight
        __syncthreads();
        forward_block(o, m, l, qs, kv + cur * 2 * BN * D, kv + cur * 2 * BN * D + BN * D, i0, kb * BN, first);
        __syncthreads();  // the next iteration refills this stage
    }
    float f[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] = quad_sum(l[r]);
        f[r] = 1.0f / l[r];  // l > 0 below TLEN: every row sees its diagonal
    }
    if (out) store_rows(out + qrow * D, i0, wr, o, f);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int i = i0 + wr + g + 8 * r;
        if (lse && t == 0 && i < TLEN) lse[qrow + i] = (m[r] + log2f(l[r])) / LOG2E;
    }
}
)CUDA";

constexpr std::string_view kGradQ = R"CUDA(
// One key block of the dq pass: S = Q K^T, dP = dO V^T, dS = P (dP - delta) SCALE, acc += dS K.
__device__ __forceinline__ void grad_q_block(float (*acc)[4], const pg_u16* qs, const pg_u16* gs, const pg_u16* ks,
                                             const pg_u16* vs, int i0, int j0, const int* first, const float* lse2,
                                             const float* dl) {
    const int wr = ((int)threadIdx.x >> 5) * 16;
    float s[NT][4], dp[NT][4];
    dot_rows(s, qs, wr, ks);
    dot_rows(dp, gs, wr, vs);
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int r = e >> 1;
            const float p = row_sees(i0, j0, j, e, first) ? exp2f(s[j][e] * SCALE2 - lse2[r]) : 0.0f;
            s[j][e] = p * (dp[j][e] - dl[r]) * SCALE;
        }
    pg_u32 pa[KN][4];
    to_a_frags(pa, s);
    mac_rows(acc, pa, ks);
}

__device__ __forceinline__ void run(pg_u16* dq, const pg_u16* q, const pg_u16* k, const pg_u16* v, const pg_u16* dout,
                                    const float* lse, const float* delta, const int* docs) {
    pg_u16* qs = tiles(2 * (BM + 2 * BN) * D);
    pg_u16 *gs = qs + BM * D, *kv = gs + BM * D;  // stage s: K at kv + 2 s BN D, V after it
    __shared__ int first_s[BM];
    const int qb = (int)blockIdx.x, h = (int)blockIdx.y, b = (int)blockIdx.z;
    const int lane = (int)threadIdx.x & 31, wr = ((int)threadIdx.x >> 5) * 16, g = lane >> 2, i0 = qb * BM;
    const long long qrow = rows_of(b, h, H), kvrow = rows_of(b, h / GROUP, HKV);
    load_pair<BM>(qs, q + qrow * D, dout + qrow * D, i0);
    load_first_keys<BM>(first_s, docs, b, i0);
    float lse2[2], dl[2];  // the rows' lse (base 2) and delta
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int i = i0 + wr + g + 8 * r;
        lse2[r] = i < TLEN ? lse[qrow + i] * LOG2E : 0.0f;
        dl[r] = i < TLEN ? delta[qrow + i] : 0.0f;
    }
    __syncthreads();
    const int first[2] = {first_s[wr + g], first_s[wr + g + 8]};
    const int kb0 = DOCS ? min_first_key<BM>(first_s) / BN : 0;
    const int kb1 = ((i0 + BM < TLEN ? i0 + BM : TLEN) - 1) / BN;
    load_pair(kv, k + kvrow * D, v + kvrow * D, kb0 * BN);
    cp_async_commit();  // Q, dO and the first key block
    float acc[DT][4];
    zero(acc);
    for (int kb = kb0; kb <= kb1; ++kb) {
        const int cur = (kb - kb0) & 1;
        if (kb < kb1) load_pair(kv + (cur ^ 1) * 2 * BN * D, k + kvrow * D, v + kvrow * D, (kb + 1) * BN);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        grad_q_block(acc, qs, gs, kv + cur * 2 * BN * D, kv + cur * 2 * BN * D + BN * D, i0, kb * BN, first, lse2, dl);
        __syncthreads();
    }
    const float one[2] = {1.0f, 1.0f};
    store_rows(dq + qrow * D, i0, wr, acc, one);
}
)CUDA";

constexpr std::string_view kGradKV = R"CUDA(
// A query block's statistics as the dk/dv pass reads them: lse (base 2), delta and first keys.
struct QueryStats {
    float lse2[BN], delta[BN];
    int first[BN];
};

// One query block of the dk/dv pass, transposed (rows: keys, columns: queries): S^T = K Q^T,
// P^T, adv += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - delta) SCALE, adk += dS^T Q.
__device__ __forceinline__ void grad_kv_block(float (*adk)[4], float (*adv)[4], const pg_u16* ks, const pg_u16* vs,
                                              const pg_u16* qs, const pg_u16* gs, int i0, int j0, const QueryStats& st) {
    const int lane = (int)threadIdx.x & 31, wr = ((int)threadIdx.x >> 5) * 16, g = lane >> 2, t = lane & 3;
    float s[NT][4], dpt[NT][4];
    dot_rows(s, ks, wr, qs);
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int col = j * 8 + 2 * t + (e & 1), i = i0 + col, jj = j0 + wr + g + 8 * (e >> 1);
            const bool seen = jj <= i && i < TLEN && jj < TLEN && (!DOCS || jj >= st.first[col]);
            s[j][e] = seen ? exp2f(s[j][e] * SCALE2 - st.lse2[col]) : 0.0f;
        }
    pg_u32 pa[KN][4];
    to_a_frags(pa, s);
    mac_rows(adv, pa, gs);
    // dS^T from P^T as rounded into pa, so that s's registers are free while dP^T is computed
    // (the f32 P kept alive made ptxas spill 32-40 bytes at head dim 128).
    dot_rows(dpt, vs, wr, gs);
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int col = j * 8 + 2 * t + (e & 1);
            dpt[j][e] = a_frag_value(pa, j, e) * (dpt[j][e] - st.delta[col]) * SCALE;
        }
    to_a_frags(pa, dpt);
    mac_rows(adk, pa, qs);
}

// Issues the copies of item n of the dk/dv pass (query head gi = n / PER_HEAD of the kv head's
// group, query block qb0 + n % PER_HEAD) into stage `tile` and its statistics into st.
__device__ __forceinline__ void grad_kv_fetch(pg_u16* tile, QueryStats& st, const pg_u16* q, const pg_u16* dout,
                                              const float* lse, const float* delta, const int* docs, int b, int kvh,
                                              int qb0, int n) {
    const int per_head = NBN - qb0, i0 = (qb0 + n % per_head) * BN, tid = (int)threadIdx.x;
    const long long qrow = rows_of(b, kvh * GROUP + n / per_head, H);
    load_pair(tile, q + qrow * D, dout + qrow * D, i0);
    if (tid < BN) {
        st.lse2[tid] = i0 + tid < TLEN ? lse[qrow + i0 + tid] * LOG2E : 0.0f;
        st.delta[tid] = i0 + tid < TLEN ? delta[qrow + i0 + tid] : 0.0f;
    }
    load_first_keys<BN>(st.first, docs, b, i0);
}

__device__ __forceinline__ void run(pg_u16* dk, pg_u16* dv, const pg_u16* q, const pg_u16* k, const pg_u16* v,
                                    const pg_u16* dout, const float* lse, const float* delta, const int* docs) {
    pg_u16* ks = tiles(2 * (BM + 2 * BN) * D);
    pg_u16 *vs = ks + BM * D, *qg = vs + BM * D;  // stage s: Q at qg + 2 s BN D, dO after it
    __shared__ QueryStats stats[2];
    const int kb = (int)blockIdx.x, kvh = (int)blockIdx.y, b = (int)blockIdx.z, j0 = kb * BM;
    const int qb0 = j0 / BN, items = GROUP * (NBN - qb0);  // causal: query blocks at or below the diagonal
    const long long kvrow = rows_of(b, kvh, HKV);
    load_pair<BM>(ks, k + kvrow * D, v + kvrow * D, j0);
    grad_kv_fetch(qg, stats[0], q, dout, lse, delta, docs, b, kvh, qb0, 0);
    cp_async_commit();  // K, V and the first query block
    float adk[DT][4], adv[DT][4];
    zero(adk);
    zero(adv);
    for (int n = 0; n < items; ++n) {  // the query heads sharing this kv head, their query blocks
        const int cur = n & 1;
        if (n + 1 < items) grad_kv_fetch(qg + (cur ^ 1) * 2 * BN * D, stats[cur ^ 1], q, dout, lse, delta, docs, b, kvh, qb0, n + 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        // Skip the query blocks whose documents all start after this key block (their copies were
        // issued before the first keys were known).
        if (!DOCS || min_first_key<BN>(stats[cur].first) < j0 + BM)
            grad_kv_block(adk, adv, ks, vs, qg + cur * 2 * BN * D, qg + cur * 2 * BN * D + BN * D,
                          (qb0 + n % (NBN - qb0)) * BN, j0, stats[cur]);
        __syncthreads();
    }
    const float one[2] = {1.0f, 1.0f};
    const int wr = ((int)threadIdx.x >> 5) * 16;
    if (dk) store_rows(dk + kvrow * D, j0, wr, adk, one);
    if (dv) store_rows(dv + kvrow * D, j0, wr, adv, one);
}
)CUDA";

// The entry's parameter list and the call of run(): absent outputs are passed as nullptr.
std::string entry_text(const AttentionProblem& p, const std::string& entry, const std::string& ns) {
    static const char* kOutputs[3][2] = {{"pg_u16* out", "float* lse"}, {"pg_u16* dq", ""}, {"pg_u16* dk", "pg_u16* dv"}};
    static const char* kInputs[] = {"const pg_u16* q", "const pg_u16* k", "const pg_u16* v", "const pg_u16* dout",
                                    "const float* lse_in", "const float* delta"};
    std::string params, call;
    auto add = [&](const std::string& decl, const std::string& name) {
        params += (params.empty() ? "" : ", ") + decl;
        call += (call.empty() ? "" : ", ") + name;
    };
    const auto* outs = kOutputs[static_cast<int>(p.pass)];
    for (int s = 0; s < p.output_slots(); ++s) {
        std::string decl = outs[s], name = decl.substr(decl.find('*') + 2);
        if (p.has_output[static_cast<size_t>(s)]) add(decl, name);
        else call += std::string(call.empty() ? "" : ", ") + "nullptr";
    }
    for (int i = 0; i < p.input_count() - (p.doc_mask ? 1 : 0); ++i) {
        std::string decl = kInputs[i];
        add(decl, decl.substr(decl.find('*') + 2));
    }
    if (p.doc_mask) add("const int* docs", "docs");
    else call += ", nullptr";
    // Min. 1 block per SM: registers before occupancy. Without it ptxas held the sm_80 forward at
    // head dim 64 to 128 registers and spilled 8 bytes.
    return fmt::format("extern \"C\" __global__ void __launch_bounds__({}, 1) {}({}) {{\n    {}::run({});\n}}\n",
                       cuda_threads(p), entry, params, ns, call);
}

}  // namespace

bool cuda_template_serves(DType dtype, int64_t head_dim) {
    return (dtype == DType::bf16 || dtype == DType::f16) && (head_dim == 64 || head_dim == 128);
}

int cuda_block_rows(const AttentionProblem&) { return kBlockRows; }

int cuda_threads(const AttentionProblem&) { return 32 * kWarps; }

int cuda_shared_bytes(const AttentionProblem& p) {
    const int64_t rows = (p.pass == Pass::Forward ? kBlockRows : 2 * kBlockRows) + 4 * other_rows(p);
    return static_cast<int>(rows * p.d * 2);
}

double cuda_score_pairs(const AttentionProblem& p) {
    const int64_t bn = other_rows(p), own = (p.t + kBlockRows - 1) / kBlockRows, other = (p.t + bn - 1) / bn;
    double tiles = 0;  // per head
    for (int64_t i = 0; i < own; ++i) {
        const int64_t last = (std::min((i + 1) * kBlockRows, p.t) - 1) / bn;  // the forward's / dq's kb1
        tiles += static_cast<double>(p.pass == Pass::GradKV ? other - i * kBlockRows / bn : last + 1);
    }
    return tiles * kBlockRows * static_cast<double>(bn) * static_cast<double>(p.b * p.h);
}

std::string attention_cuda_source(const AttentionProblem& p, const std::string& entry) {
    p.validate();
    PG_ASSERT(cuda_template_serves(p.dtype, p.d), "no CUDA attention template for {}", p.to_string());
    PG_ASSERT(p.t <= INT32_MAX && p.b <= 65535 && p.h <= 65535, "attention {} beyond the grid", p.to_string());
    const std::string ns = entry + "_ns";
    std::string s = fmt::format("// flash attention {} blk {}\nnamespace {} {{\n", p.to_string(), kBlockRows, ns);
    s += fmt::format("constexpr bool IS_BF16 = {}, DOCS = {};\n", p.dtype == DType::bf16, p.doc_mask);
    s += fmt::format("constexpr int H = {}, HKV = {}, TLEN = {}, D = {}, WARPS = {}, BM = {}, BN = {};\n", p.h, p.hkv,
                     p.t, p.d, kWarps, kBlockRows, other_rows(p));
    s += fmt::format("constexpr float SCALE = {:.9g}f;\n", p.scale);
    s += kCommon;
    s += gemm::mma16816_cuda();
    s += gemm::quad_reduce_cuda();
    s += gemm::tile_access_cuda();
    s += kTiles;
    s += p.pass == Pass::Forward ? kForward : p.pass == Pass::GradQ ? kGradQ : kGradKV;
    s += fmt::format("}}  // namespace {}\n\n", ns);
    return s + entry_text(p, entry, ns);
}

std::array<int64_t, 3> attention_grid(const AttentionProblem& p) {
    int64_t blocks = (p.t + kBlockRows - 1) / kBlockRows;
    return {blocks, p.pass == Pass::GradKV ? p.hkv : p.h, p.b};
}

}  // namespace pg::attn
