// The CUDA flash-attention template (see attention_cuda.h): the instance constants are generated,
// the three pass bodies are fixed text below; each runs the algorithm of the CPU version
// (flash_cpu.h) on shared-memory tiles.
//
// A block owns BLK rows (queries; keys for GradKV) and walks the blocks of the other side that
// the causal mask leaves visible. Its BLK^2 / 16 threads form a (BLK/4) x (BLK/4) grid: thread
// (ty, tx) computes the 4 x 4 micro-tile of scores rows ty*4.., columns tx*4.. from the shared
// tiles, and accumulates output rows ty*4.. at columns tx + (BLK/4) * c, c < DC = D / (BLK/4)
// (strided, so that the threads of a warp read neighbouring shared words). Tiles hold the raw
// 16-bit values with rows padded by 2 elements (an odd number of 4-byte words per row, so that
// the threads reading one column of different rows hit distinct banks); scores and probabilities
// are f32 tiles padded by 1. Rows past T are zero-filled and masked, so any T works.
// The softmax statistics of a row are kept by one thread per row in shared memory: the forward's
// running max m and sum l (the accumulator rescaled by exp(m_old - m_new) per key block), the
// backward's lse and delta (read from the forward's outputs).
// Document masking (DOCS): a row's first visible key is its doc_start (first_s, TLEN for rows past
// the end, which see nothing), the mask becomes first <= j <= i, the forward and dq passes start at
// the key block of their rows' smallest first key, and the dk/dv pass skips the query blocks none
// of whose rows reaches back into its keys. A forward row may then meet key blocks it sees nothing
// of (its document starts later than the block's smallest): its softmax update is skipped while
// its max is still -inf.
// This version multiplies with f32 FMAs (SIMT); mma.sync fragments are the next step.
#include "ops/attention/attention_cuda.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg::attn {
namespace {

// Static shared memory per block (the 48 KiB a kernel gets without cuFuncSetAttribute).
constexpr int64_t kSharedBytes = 48 * 1024;

constexpr std::string_view kCommon = R"CUDA(
constexpr int THREADS = BLK * BLK / 16, TPR = BLK / 4, DC = D / TPR, GROUP = H / HKV, NB = (TLEN + BLK - 1) / BLK;
constexpr int LDT = D + 2;  // padded shared row, in elements
__device__ __forceinline__ float to_f32(pg_u16 x) { return IS_BF16 ? pg_bf16_to_f32(x) : pg_f16_to_f32(x); }
__device__ __forceinline__ pg_u16 from_f32(float x) { return IS_BF16 ? pg_f32_to_bf16(x) : pg_f32_to_f16(x); }
__device__ __forceinline__ long long rows_of(int batch, int head, int heads) { return ((long long)batch * heads + head) * TLEN; }
__device__ __forceinline__ float neg_inf() { return -__uint_as_float(0x7f800000u); }

// first[r] = the first key row i0 + r sees: its doc_start (0 without DOCS), TLEN past the end.
__device__ __forceinline__ void load_first_keys(int* first, const int* docs, int b, int i0) {
    const int tid = (int)threadIdx.x, i = i0 + tid;
    if (tid < BLK) first[tid] = i >= TLEN ? TLEN : DOCS ? docs[(long long)b * TLEN + i] : 0;
}

// The smallest of first[0..BLK) (read by every thread after a barrier).
__device__ __forceinline__ int min_first_key(const int* first) {
    int m = TLEN;
    for (int r = 0; r < BLK; ++r) m = first[r] < m ? first[r] : m;
    return m;
}

// tile = rows [r0, r0 + BLK) of the [TLEN, D] matrix at src, zero past TLEN.
__device__ __forceinline__ void load_tile(pg_u16 (*tile)[LDT], const pg_u16* src, int r0) {
    for (int e = (int)threadIdx.x; e < BLK * D; e += THREADS) {
        const int r = e / D, c = e % D;
        tile[r][c] = r0 + r < TLEN ? src[(long long)(r0 + r) * D + c] : (pg_u16)0;
    }
}

// s[r][c] = sum_d a[ar + r][d] * b[br + c][d]: the thread's micro-tile of a times b^T.
__device__ __forceinline__ void tile_dot(pg_u16 (*a)[LDT], int ar, pg_u16 (*b)[LDT], int br, float (&s)[4][4]) {
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) s[r][c] = 0.0f;
    for (int d = 0; d < D; ++d) {
        float av[4], bv[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) av[r] = to_f32(a[ar + r][d]);
#pragma unroll
        for (int c = 0; c < 4; ++c) bv[c] = to_f32(b[br + c][d]);
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) s[r][c] += av[r] * bv[c];
    }
}

// acc[r][c] += sum_j p[pr + r][j] * v[j][tx + TPR * c]: the thread's rows of p times v.
__device__ __forceinline__ void tile_mac(float (*p)[BLK + 1], int pr, pg_u16 (*v)[LDT], int tx, float (&acc)[4][DC]) {
    for (int j = 0; j < BLK; ++j) {
        float pv[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) pv[r] = p[pr + r][j];
#pragma unroll
        for (int c = 0; c < DC; ++c) {
            const float x = to_f32(v[j][tx + TPR * c]);
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[r][c] += pv[r] * x;
        }
    }
}

// Stores the thread's accumulator rows (times `row_scale`, per row in shared memory) below TLEN.
__device__ __forceinline__ void store_rows(pg_u16* dst, int r0, int ty, int tx, const float (&acc)[4][DC], const float* row_scale) {
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = r0 + ty * 4 + r;
        if (i >= TLEN) continue;
        const float f = row_scale ? row_scale[ty * 4 + r] : 1.0f;
#pragma unroll
        for (int c = 0; c < DC; ++c) dst[(long long)i * D + tx + TPR * c] = from_f32(acc[r][c] * f);
    }
}
)CUDA";

constexpr std::string_view kForward = R"CUDA(
__device__ __forceinline__ void run(pg_u16* out, float* lse, const pg_u16* q, const pg_u16* k, const pg_u16* v,
                                    const int* docs) {
    __shared__ pg_u16 qs[BLK][LDT], ks[BLK][LDT], vs[BLK][LDT];
    __shared__ float ps[BLK][BLK + 1], m_s[BLK], l_s[BLK], c_s[BLK];
    __shared__ int first_s[BLK];
    const int qb = (int)blockIdx.x, h = (int)blockIdx.y, b = (int)blockIdx.z, tid = (int)threadIdx.x;
    const int ty = tid / TPR, tx = tid % TPR, i0 = qb * BLK;
    const long long qrow = rows_of(b, h, H), kvrow = rows_of(b, h / GROUP, HKV);
    load_tile(qs, q + qrow * D, i0);
    load_first_keys(first_s, docs, b, i0);
    if (tid < BLK) {
        m_s[tid] = neg_inf();
        l_s[tid] = 0.0f;
    }
    float acc[4][DC];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < DC; ++c) acc[r][c] = 0.0f;
    __syncthreads();
    const int kb0 = DOCS ? min_first_key(first_s) / BLK : 0;
    for (int kb = kb0; kb <= qb; ++kb) {  // causal: no key block above the diagonal
        const int j0 = kb * BLK;
        __syncthreads();  // the previous key block's readers are done
        load_tile(ks, k + kvrow * D, j0);
        load_tile(vs, v + kvrow * D, j0);
        __syncthreads();
        float s[4][4];
        tile_dot(qs, ty * 4, ks, tx * 4, s);
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int i = i0 + ty * 4 + r, j = j0 + tx * 4 + c;
                const bool seen = j <= i && j < TLEN && j >= first_s[ty * 4 + r];
                ps[ty * 4 + r][tx * 4 + c] = seen ? s[r][c] * SCALE : neg_inf();
            }
        __syncthreads();
        if (tid < BLK) {  // the row's online softmax (nothing seen yet: m = -inf, p = 0, no rescale)
            float mx = m_s[tid], sum = 0.0f;
            for (int j = 0; j < BLK; ++j) mx = pg_fmax(mx, ps[tid][j]);
            const bool none = mx == neg_inf();
            for (int j = 0; j < BLK; ++j) {
                const float p = none ? 0.0f : expf(ps[tid][j] - mx);
                ps[tid][j] = p;
                sum += p;
            }
            c_s[tid] = none ? 1.0f : expf(m_s[tid] - mx);
            l_s[tid] = l_s[tid] * c_s[tid] + sum;
            m_s[tid] = mx;
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < DC; ++c) acc[r][c] *= c_s[ty * 4 + r];
        tile_mac(ps, ty * 4, vs, tx, acc);
    }
    __syncthreads();
    if (tid < BLK) c_s[tid] = 1.0f / l_s[tid];
    __syncthreads();
    if (out) store_rows(out + qrow * D, i0, ty, tx, acc, c_s);
    if (lse && tid < BLK && i0 + tid < TLEN) lse[qrow + i0 + tid] = m_s[tid] + logf(l_s[tid]);
}
)CUDA";

constexpr std::string_view kGradQ = R"CUDA(
__device__ __forceinline__ void run(pg_u16* dq, const pg_u16* q, const pg_u16* k, const pg_u16* v, const pg_u16* dout,
                                    const float* lse, const float* delta, const int* docs) {
    __shared__ pg_u16 qs[BLK][LDT], gs[BLK][LDT], ks[BLK][LDT], vs[BLK][LDT];
    __shared__ float ds[BLK][BLK + 1], lse_s[BLK], delta_s[BLK];
    __shared__ int first_s[BLK];
    const int qb = (int)blockIdx.x, h = (int)blockIdx.y, b = (int)blockIdx.z, tid = (int)threadIdx.x;
    const int ty = tid / TPR, tx = tid % TPR, i0 = qb * BLK;
    const long long qrow = rows_of(b, h, H), kvrow = rows_of(b, h / GROUP, HKV);
    load_tile(qs, q + qrow * D, i0);
    load_tile(gs, dout + qrow * D, i0);
    load_first_keys(first_s, docs, b, i0);
    if (tid < BLK) {
        lse_s[tid] = i0 + tid < TLEN ? lse[qrow + i0 + tid] : 0.0f;
        delta_s[tid] = i0 + tid < TLEN ? delta[qrow + i0 + tid] : 0.0f;
    }
    float acc[4][DC];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < DC; ++c) acc[r][c] = 0.0f;
    __syncthreads();
    const int kb0 = DOCS ? min_first_key(first_s) / BLK : 0;
    for (int kb = kb0; kb <= qb; ++kb) {
        const int j0 = kb * BLK;
        __syncthreads();
        load_tile(ks, k + kvrow * D, j0);
        load_tile(vs, v + kvrow * D, j0);
        __syncthreads();
        float s[4][4], dp[4][4];
        tile_dot(qs, ty * 4, ks, tx * 4, s);
        tile_dot(gs, ty * 4, vs, tx * 4, dp);
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int row = ty * 4 + r, i = i0 + row, j = j0 + tx * 4 + c;
                const bool seen = j <= i && j < TLEN && j >= first_s[row];
                const float p = seen ? expf(s[r][c] * SCALE - lse_s[row]) : 0.0f;
                ds[row][tx * 4 + c] = p * (dp[r][c] - delta_s[row]) * SCALE;
            }
        __syncthreads();
        tile_mac(ds, ty * 4, ks, tx, acc);
    }
    store_rows(dq + qrow * D, i0, ty, tx, acc, nullptr);
}
)CUDA";

constexpr std::string_view kGradKV = R"CUDA(
__device__ __forceinline__ void run(pg_u16* dk, pg_u16* dv, const pg_u16* q, const pg_u16* k, const pg_u16* v,
                                    const pg_u16* dout, const float* lse, const float* delta, const int* docs) {
    __shared__ pg_u16 ks[BLK][LDT], vs[BLK][LDT], qs[BLK][LDT], gs[BLK][LDT];
    __shared__ float pt[BLK][BLK + 1], dst[BLK][BLK + 1], lse_s[BLK], delta_s[BLK];
    __shared__ int first_s[BLK];
    const int kb = (int)blockIdx.x, kvh = (int)blockIdx.y, b = (int)blockIdx.z, tid = (int)threadIdx.x;
    const int ty = tid / TPR, tx = tid % TPR, j0 = kb * BLK;
    const long long kvrow = rows_of(b, kvh, HKV);
    load_tile(ks, k + kvrow * D, j0);
    load_tile(vs, v + kvrow * D, j0);
    float adk[4][DC], adv[4][DC];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < DC; ++c) adk[r][c] = adv[r][c] = 0.0f;
    for (int g = 0; g < GROUP; ++g) {  // the query heads sharing this kv head
        const long long qrow = rows_of(b, kvh * GROUP + g, H);
        for (int qb = kb; qb < NB; ++qb) {  // causal: query blocks at or below the diagonal
            const int i0 = qb * BLK;
            __syncthreads();
            if (DOCS) {  // skip the query blocks whose documents all start after this key block
                load_first_keys(first_s, docs, b, i0);
                __syncthreads();
                if (min_first_key(first_s) >= j0 + BLK) continue;
            }
            load_tile(qs, q + qrow * D, i0);
            load_tile(gs, dout + qrow * D, i0);
            if (tid < BLK) {
                lse_s[tid] = i0 + tid < TLEN ? lse[qrow + i0 + tid] : 0.0f;
                delta_s[tid] = i0 + tid < TLEN ? delta[qrow + i0 + tid] : 0.0f;
            }
            __syncthreads();
            float s[4][4], dp[4][4];  // rows: keys, columns: queries
            tile_dot(ks, ty * 4, qs, tx * 4, s);
            tile_dot(vs, ty * 4, gs, tx * 4, dp);
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const int col = tx * 4 + c, i = i0 + col, j = j0 + ty * 4 + r;
                    const bool seen = j <= i && i < TLEN && j < TLEN && (!DOCS || j >= first_s[col]);
                    const float p = seen ? expf(s[r][c] * SCALE - lse_s[col]) : 0.0f;
                    pt[ty * 4 + r][col] = p;
                    dst[ty * 4 + r][col] = p * (dp[r][c] - delta_s[col]) * SCALE;
                }
            __syncthreads();
            tile_mac(pt, ty * 4, gs, tx, adv);
            tile_mac(dst, ty * 4, qs, tx, adk);
        }
    }
    if (dk) store_rows(dk + kvrow * D, j0, ty, tx, adk, nullptr);
    if (dv) store_rows(dv + kvrow * D, j0, ty, tx, adv, nullptr);
}
)CUDA";

// Shared bytes of a pass with blocks of `blk` rows: 16-bit tiles of blk x (D + 2), f32 tiles of
// blk x (blk + 1), per-row statistics and first keys.
int64_t shared_bytes(const AttentionProblem& p, int64_t blk) {
    int64_t tiles = p.pass == Pass::Forward ? 3 : 4, score_tiles = p.pass == Pass::GradKV ? 2 : 1;
    return tiles * blk * (p.d + 2) * 2 + score_tiles * blk * (blk + 1) * 4 + 4 * blk * 4;
}

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
    return fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{\n    {}::run({});\n}}\n",
                       cuda_threads(p), entry, params, ns, call);
}

}  // namespace

bool cuda_template_serves(DType dtype, int64_t head_dim) {
    return (dtype == DType::bf16 || dtype == DType::f16) && (head_dim == 64 || head_dim == 128);
}

int cuda_block_rows(const AttentionProblem& p) {
    for (int blk : {64, 32, 16})
        if (shared_bytes(p, blk) <= kSharedBytes) return blk;
    PG_UNREACHABLE("attention {}: no block fits {} bytes of shared memory", p.to_string(), kSharedBytes);
}

int cuda_threads(const AttentionProblem& p) { return cuda_block_rows(p) * cuda_block_rows(p) / 16; }

std::string attention_cuda_source(const AttentionProblem& p, const std::string& entry) {
    p.validate();
    PG_ASSERT(cuda_template_serves(p.dtype, p.d), "no CUDA attention template for {}", p.to_string());
    PG_ASSERT(p.t <= INT32_MAX && p.b <= 65535 && p.h <= 65535, "attention {} beyond the grid", p.to_string());
    const std::string ns = entry + "_ns";
    std::string s = fmt::format("// flash attention {} blk {}\nnamespace {} {{\n", p.to_string(), cuda_block_rows(p), ns);
    s += fmt::format("constexpr bool IS_BF16 = {}, DOCS = {};\n", p.dtype == DType::bf16, p.doc_mask);
    s += fmt::format("constexpr int H = {}, HKV = {}, TLEN = {}, D = {}, BLK = {};\n", p.h, p.hkv, p.t, p.d,
                     cuda_block_rows(p));
    s += fmt::format("constexpr float SCALE = {:.9g}f;\n", p.scale);
    s += kCommon;
    s += p.pass == Pass::Forward ? kForward : p.pass == Pass::GradQ ? kGradQ : kGradKV;
    s += fmt::format("}}  // namespace {}\n\n", ns);
    return s + entry_text(p, entry, ns);
}

std::array<int64_t, 3> attention_grid(const AttentionProblem& p) {
    int64_t blocks = (p.t + cuda_block_rows(p) - 1) / cuda_block_rows(p);
    return {blocks, p.pass == Pass::GradKV ? p.hkv : p.h, p.b};
}

}  // namespace pg::attn
