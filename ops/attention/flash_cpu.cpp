// Flash attention's CPU passes (see flash_cpu.h). Dot products over D run as "row times the
// transposed key block" so that the inner loop walks keys contiguously and vectorizes without
// reassociating a sum; accumulations into D-wide rows are axpys.
#include "ops/attention/flash_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/thread_pool.h"

namespace pg::attn {

namespace {

struct Buffers {
    float* out[2] = {nullptr, nullptr};
    const float *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr, *lse = nullptr, *delta = nullptr;
    const int32_t* docs = nullptr;  // doc_start [B, T], or nullptr: causal only
};

Buffers typed(const AttentionProblem& p, const std::vector<void*>& slots) {
    Buffers b;
    int outs = p.output_slots();
    for (int s = 0; s < outs; ++s) b.out[s] = static_cast<float*>(slots[static_cast<size_t>(s)]);
    auto in = [&](int i) { return static_cast<const float*>(slots[static_cast<size_t>(outs + i)]); };
    b.q = in(0);
    b.k = in(1);
    b.v = in(2);
    if (p.pass != Pass::Forward) {
        b.dout = in(3);
        b.lse = in(4);
        b.delta = in(5);
    }
    if (p.doc_mask) b.docs = static_cast<const int32_t*>(slots.back());
    return b;
}

// Element offsets of row i of query head h / kv head kvh, and of a statistic.
int64_t q_row(const AttentionProblem& p, int64_t b, int64_t h, int64_t i) { return ((b * p.h + h) * p.t + i) * p.d; }
int64_t kv_row(const AttentionProblem& p, int64_t b, int64_t kvh, int64_t j) {
    return ((b * p.hkv + kvh) * p.t + j) * p.d;
}
int64_t stat(const AttentionProblem& p, int64_t b, int64_t h, int64_t i) { return (b * p.h + h) * p.t + i; }

// dst[c * ld + r] = src[r * d + c] for the block's n rows: the key block with keys contiguous.
void transpose_block(const float* src, int64_t n, int64_t d, int64_t ld, float* dst) {
    for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < d; ++c) dst[c * ld + r] = src[r * d + c];
}

// s[j] = scale * sum_c x[c] * kt[c * ld + j] for j < n.
void row_times_block(const float* x, const float* kt, int64_t d, int64_t ld, int64_t n, float scale, float* s) {
    std::fill(s, s + n, 0.0f);
    for (int64_t c = 0; c < d; ++c) {
        float xc = x[c];
        const float* kc = kt + c * ld;
        for (int64_t j = 0; j < n; ++j) s[j] += xc * kc[j];
    }
    for (int64_t j = 0; j < n; ++j) s[j] *= scale;
}

void axpy(float a, const float* x, int64_t n, float* y) {
    for (int64_t c = 0; c < n; ++c) y[c] += a * x[c];
}

// The first key query row i of batch b sees: its document's start (0 without masking).
int64_t first_key(const Buffers& bf, const AttentionProblem& p, int64_t b, int64_t i) {
    return bf.docs ? bf.docs[b * p.t + i] : 0;
}

// Keys [lo, hi) of the block [j0, j0 + nb), relative to j0, that query row i sees: first <= key
// <= query. Empty (lo >= hi) when the block lies outside the row's document or in its future.
struct Keys {
    int64_t lo, hi;
    bool empty() const { return lo >= hi; }
};
Keys visible(int64_t first, int64_t i, int64_t j0, int64_t nb) {
    return {std::max<int64_t>(0, first - j0), std::min(nb, i + 1 - j0)};
}

// The first key block a block of query rows [i0, i0 + rows) needs: the one holding the smallest
// first key of its rows (key blocks ending before it are outside every row's document).
int64_t first_key_block(const Buffers& bf, const AttentionProblem& p, int64_t b, int64_t i0, int64_t rows,
                        int64_t keys) {
    int64_t first = i0;
    for (int64_t r = 0; r < rows; ++r) first = std::min(first, first_key(bf, p, b, i0 + r));
    return first / keys * keys;
}

struct Scratch {
    std::vector<float> kt, vt, s, dp;
    Scratch(int64_t d, int64_t keys) : kt(static_cast<size_t>(d * keys)), vt(kt.size()), s(static_cast<size_t>(keys)), dp(s.size()) {}
};

// One online-softmax update of query row `x` with the keys `ks` of the key block at kv row j0.
void online_row(const AttentionProblem& p, const float* x, const float* vblock, Scratch& sc, int64_t ld, Keys ks,
                float& m, float& l, float* acc) {
    row_times_block(x, sc.kt.data(), p.d, ld, ks.hi, static_cast<float>(p.scale), sc.s.data());
    float mx = std::max(m, *std::max_element(sc.s.begin() + ks.lo, sc.s.begin() + ks.hi));
    float corr = std::exp(m - mx);  // 0 on the first block (m = -inf)
    float sum = 0;
    for (auto j = static_cast<size_t>(ks.lo); j < static_cast<size_t>(ks.hi); ++j) sum += sc.s[j] = std::exp(sc.s[j] - mx);
    l = l * corr + sum;
    for (int64_t c = 0; c < p.d; ++c) acc[c] *= corr;
    for (int64_t j = ks.lo; j < ks.hi; ++j) axpy(sc.s[static_cast<size_t>(j)], vblock + j * p.d, p.d, acc);
    m = mx;
}

void forward_item(const AttentionProblem& p, const Buffers& bf, CpuBlocks bl, int64_t item, Scratch& sc) {
    int64_t blocks = (p.t + bl.rows - 1) / bl.rows;
    int64_t b = item / (p.h * blocks), h = item / blocks % p.h, i0 = item % blocks * bl.rows;
    int64_t rows = std::min(bl.rows, p.t - i0), kvh = h / p.group();
    std::vector<float> m(static_cast<size_t>(rows), -std::numeric_limits<float>::infinity());
    std::vector<float> l(static_cast<size_t>(rows), 0.0f), acc(static_cast<size_t>(rows * p.d), 0.0f);
    const float* q = bf.q + q_row(p, b, h, i0);
    for (int64_t j0 = first_key_block(bf, p, b, i0, rows, bl.keys); j0 < i0 + rows; j0 += bl.keys) {
        int64_t nb = std::min(bl.keys, p.t - j0);
        transpose_block(bf.k + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.kt.data());
        for (int64_t r = 0; r < rows; ++r) {
            Keys ks = visible(first_key(bf, p, b, i0 + r), i0 + r, j0, nb);
            if (!ks.empty())
                online_row(p, q + r * p.d, bf.v + kv_row(p, b, kvh, j0), sc, bl.keys, ks, m[r], l[r], &acc[r * p.d]);
        }
    }
    for (int64_t r = 0; r < rows; ++r) {
        if (bf.out[0])
            for (int64_t c = 0; c < p.d; ++c) bf.out[0][q_row(p, b, h, i0 + r) + c] = acc[r * p.d + c] / l[r];
        if (bf.out[1]) bf.out[1][stat(p, b, h, i0 + r)] = m[r] + std::log(l[r]);
    }
}

// sc.s = P and sc.dp = dS for query row i of head h against the transposed key block, over the
// visible keys ks (the entries before ks.lo are left unspecified).
void probabilities_and_ds(const AttentionProblem& p, const Buffers& bf, int64_t b, int64_t h, int64_t i, int64_t ld,
                          Keys ks, Scratch& sc) {
    row_times_block(bf.q + q_row(p, b, h, i), sc.kt.data(), p.d, ld, ks.hi, static_cast<float>(p.scale), sc.s.data());
    row_times_block(bf.dout + q_row(p, b, h, i), sc.vt.data(), p.d, ld, ks.hi, 1.0f, sc.dp.data());
    float lse = bf.lse[stat(p, b, h, i)], delta = bf.delta[stat(p, b, h, i)];
    for (auto j = static_cast<size_t>(ks.lo); j < static_cast<size_t>(ks.hi); ++j) {
        sc.s[j] = std::exp(sc.s[j] - lse);
        sc.dp[j] = sc.s[j] * (sc.dp[j] - delta);
    }
}

void grad_q_item(const AttentionProblem& p, const Buffers& bf, CpuBlocks bl, int64_t item, Scratch& sc) {
    int64_t blocks = (p.t + bl.rows - 1) / bl.rows;
    int64_t b = item / (p.h * blocks), h = item / blocks % p.h, i0 = item % blocks * bl.rows;
    int64_t rows = std::min(bl.rows, p.t - i0), kvh = h / p.group();
    float* dq = bf.out[0] + q_row(p, b, h, i0);
    std::fill(dq, dq + rows * p.d, 0.0f);
    for (int64_t j0 = first_key_block(bf, p, b, i0, rows, bl.keys); j0 < i0 + rows; j0 += bl.keys) {
        int64_t nb = std::min(bl.keys, p.t - j0);
        const float* kb = bf.k + kv_row(p, b, kvh, j0);
        transpose_block(kb, nb, p.d, bl.keys, sc.kt.data());
        transpose_block(bf.v + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.vt.data());
        for (int64_t r = 0; r < rows; ++r) {
            Keys ks = visible(first_key(bf, p, b, i0 + r), i0 + r, j0, nb);
            if (ks.empty()) continue;
            probabilities_and_ds(p, bf, b, h, i0 + r, bl.keys, ks, sc);
            for (int64_t j = ks.lo; j < ks.hi; ++j)
                axpy(static_cast<float>(p.scale) * sc.dp[static_cast<size_t>(j)], kb + j * p.d, p.d, dq + r * p.d);
        }
    }
}

void grad_kv_item(const AttentionProblem& p, const Buffers& bf, CpuBlocks bl, int64_t item, Scratch& sc) {
    int64_t blocks = (p.t + bl.keys - 1) / bl.keys;
    int64_t b = item / (p.hkv * blocks), kvh = item / blocks % p.hkv, j0 = item % blocks * bl.keys;
    int64_t nb = std::min(bl.keys, p.t - j0);
    transpose_block(bf.k + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.kt.data());
    transpose_block(bf.v + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.vt.data());
    std::vector<float> dk(static_cast<size_t>(nb * p.d), 0.0f), dv(dk.size(), 0.0f);
    for (int64_t h = kvh * p.group(); h < (kvh + 1) * p.group(); ++h) {
        for (int64_t i = j0; i < p.t; ++i) {
            Keys ks = visible(first_key(bf, p, b, i), i, j0, nb);
            if (ks.empty()) continue;  // the block lies before row i's document
            probabilities_and_ds(p, bf, b, h, i, bl.keys, ks, sc);
            const float* qi = bf.q + q_row(p, b, h, i);
            const float* gi = bf.dout + q_row(p, b, h, i);
            for (int64_t j = ks.lo; j < ks.hi; ++j) {
                axpy(sc.s[j], gi, p.d, &dv[j * p.d]);
                axpy(static_cast<float>(p.scale) * sc.dp[j], qi, p.d, &dk[j * p.d]);
            }
        }
    }
    if (bf.out[0]) std::copy(dk.begin(), dk.end(), bf.out[0] + kv_row(p, b, kvh, j0));
    if (bf.out[1]) std::copy(dv.begin(), dv.end(), bf.out[1] + kv_row(p, b, kvh, j0));
}

}  // namespace

void flash_cpu(const AttentionProblem& p, const std::vector<void*>& slots, CpuBlocks bl) {
    p.validate();
    PG_ASSERT(p.dtype == DType::f32, "the CPU flash attention takes f32, got {}", p.to_string());
    PG_ASSERT(bl.rows > 0 && bl.keys > 0, "flash attention blocks {} x {}", bl.rows, bl.keys);
    Buffers bf = typed(p, slots);
    int64_t items = p.pass == Pass::GradKV ? p.b * p.hkv * ((p.t + bl.keys - 1) / bl.keys)
                                           : p.b * p.h * ((p.t + bl.rows - 1) / bl.rows);
    ThreadPool::global().parallel_for(0, items, [&](int64_t begin, int64_t end) {
        Scratch sc(p.d, bl.keys);
        for (int64_t item = begin; item < end; ++item) {
            if (p.pass == Pass::Forward) forward_item(p, bf, bl, item, sc);
            if (p.pass == Pass::GradQ) grad_q_item(p, bf, bl, item, sc);
            if (p.pass == Pass::GradKV) grad_kv_item(p, bf, bl, item, sc);
        }
    });
}

}  // namespace pg::attn
