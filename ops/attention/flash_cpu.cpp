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

// Keys of the block [j0, j0 + nb) that query row i sees (key <= query).
int64_t visible(int64_t i, int64_t j0, int64_t nb) { return std::min(nb, i + 1 - j0); }

struct Scratch {
    std::vector<float> kt, vt, s, dp;
    Scratch(int64_t d, int64_t keys) : kt(static_cast<size_t>(d * keys)), vt(kt.size()), s(static_cast<size_t>(keys)), dp(s.size()) {}
};

// One online-softmax update of query row `x` with the key block at kv row j0 (n keys visible).
void online_row(const AttentionProblem& p, const float* x, const float* vblock, Scratch& sc, int64_t ld, int64_t n,
                float& m, float& l, float* acc) {
    row_times_block(x, sc.kt.data(), p.d, ld, n, static_cast<float>(p.scale), sc.s.data());
    float mx = std::max(m, *std::max_element(sc.s.begin(), sc.s.begin() + n));
    float corr = std::exp(m - mx);  // 0 on the first block (m = -inf)
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += sc.s[static_cast<size_t>(j)] = std::exp(sc.s[static_cast<size_t>(j)] - mx);
    l = l * corr + sum;
    for (int64_t c = 0; c < p.d; ++c) acc[c] *= corr;
    for (int64_t j = 0; j < n; ++j) axpy(sc.s[static_cast<size_t>(j)], vblock + j * p.d, p.d, acc);
    m = mx;
}

void forward_item(const AttentionProblem& p, const Buffers& bf, CpuBlocks bl, int64_t item, Scratch& sc) {
    int64_t blocks = (p.t + bl.rows - 1) / bl.rows;
    int64_t b = item / (p.h * blocks), h = item / blocks % p.h, i0 = item % blocks * bl.rows;
    int64_t rows = std::min(bl.rows, p.t - i0), kvh = h / p.group();
    std::vector<float> m(static_cast<size_t>(rows), -std::numeric_limits<float>::infinity());
    std::vector<float> l(static_cast<size_t>(rows), 0.0f), acc(static_cast<size_t>(rows * p.d), 0.0f);
    const float* q = bf.q + q_row(p, b, h, i0);
    for (int64_t j0 = 0; j0 < i0 + rows; j0 += bl.keys) {
        int64_t nb = std::min(bl.keys, p.t - j0);
        transpose_block(bf.k + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.kt.data());
        for (int64_t r = 0; r < rows; ++r) {
            int64_t n = visible(i0 + r, j0, nb);
            if (n > 0) online_row(p, q + r * p.d, bf.v + kv_row(p, b, kvh, j0), sc, bl.keys, n, m[r], l[r], &acc[r * p.d]);
        }
    }
    for (int64_t r = 0; r < rows; ++r) {
        if (bf.out[0])
            for (int64_t c = 0; c < p.d; ++c) bf.out[0][q_row(p, b, h, i0 + r) + c] = acc[r * p.d + c] / l[r];
        if (bf.out[1]) bf.out[1][stat(p, b, h, i0 + r)] = m[r] + std::log(l[r]);
    }
}

// sc.s = P and sc.dp = dS for query row i of head h against the transposed key block (n keys).
void probabilities_and_ds(const AttentionProblem& p, const Buffers& bf, int64_t b, int64_t h, int64_t i, int64_t ld,
                          int64_t n, Scratch& sc) {
    row_times_block(bf.q + q_row(p, b, h, i), sc.kt.data(), p.d, ld, n, static_cast<float>(p.scale), sc.s.data());
    row_times_block(bf.dout + q_row(p, b, h, i), sc.vt.data(), p.d, ld, n, 1.0f, sc.dp.data());
    float lse = bf.lse[stat(p, b, h, i)], delta = bf.delta[stat(p, b, h, i)];
    for (size_t j = 0; j < static_cast<size_t>(n); ++j) {
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
    for (int64_t j0 = 0; j0 < i0 + rows; j0 += bl.keys) {
        int64_t nb = std::min(bl.keys, p.t - j0);
        const float* kb = bf.k + kv_row(p, b, kvh, j0);
        transpose_block(kb, nb, p.d, bl.keys, sc.kt.data());
        transpose_block(bf.v + kv_row(p, b, kvh, j0), nb, p.d, bl.keys, sc.vt.data());
        for (int64_t r = 0; r < rows; ++r) {
            int64_t n = visible(i0 + r, j0, nb);
            if (n <= 0) continue;
            probabilities_and_ds(p, bf, b, h, i0 + r, bl.keys, n, sc);
            for (int64_t j = 0; j < n; ++j) axpy(static_cast<float>(p.scale) * sc.dp[j], kb + j * p.d, p.d, dq + r * p.d);
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
            int64_t n = visible(i, j0, nb);
            probabilities_and_ds(p, bf, b, h, i, bl.keys, n, sc);
            const float* qi = bf.q + q_row(p, b, h, i);
            const float* gi = bf.dout + q_row(p, b, h, i);
            for (int64_t j = 0; j < n; ++j) {
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
