// The linear cross-entropy CPU passes (see linear_ce_cpu.h). The two products of a tile (its logits,
// and dl times the tile's rows) are OpenBLAS sgemm calls inside the work item's thread, as the
// runtime's BLAS steps (runtime/blas.cpp); the softmax statistics and dl are loops over the tile.
#include "ops/cross_entropy/linear_ce_cpu.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/thread_pool.h"

namespace pg::ce {

namespace {

struct Buffers {
    float* out = nullptr;
    const float *x = nullptr, *w = nullptr, *stats = nullptr, *grad = nullptr;
    const void* targets = nullptr;
};

Buffers typed(const LinearCeProblem& p, const std::vector<void*>& b) {
    PG_ASSERT(static_cast<int>(b.size()) == 1 + p.input_count(), "linear ce {}: {} buffers", p.to_string(), b.size());
    Buffers t{static_cast<float*>(b[0]), static_cast<const float*>(b[1]), static_cast<const float*>(b[2])};
    t.targets = b[3];
    if (p.pass != Pass::Forward) {
        t.stats = static_cast<const float*>(b[4]);
        t.grad = static_cast<const float*>(b[5]);
    }
    return t;
}

int64_t target_of(const LinearCeProblem& p, const void* targets, int64_t i) {
    switch (p.target_dtype) {
        case DType::i64: return static_cast<const int64_t*>(targets)[i];
        case DType::i32: return static_cast<const int32_t*>(targets)[i];
        default: PG_UNREACHABLE("linear ce targets of dtype {}", dtype_name(p.target_dtype));
    }
}

// s [rows, cols] (leading dimension ld) = a [rows, d] times b [cols, d] transposed.
void logits(const float* a, int64_t rows, const float* b, int64_t cols, int64_t d, int64_t ld, float* s) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cols),
                static_cast<int>(d), 1.0f, a, static_cast<int>(d), b, static_cast<int>(d), 0.0f, s, static_cast<int>(ld));
}

// out [rows, d] (+)= s [rows, cols] (leading dimension ld) times b [cols, d].
void accumulate(const float* s, int64_t rows, int64_t cols, int64_t ld, const float* b, int64_t d, bool first, float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(d),
                static_cast<int>(cols), 1.0f, s, static_cast<int>(ld), b, static_cast<int>(d), first ? 0.0f : 1.0f, out,
                static_cast<int>(d));
}

float softcap(float l, float cap) { return cap > 0 ? cap * std::tanh(l / cap) : l; }

// What the gradient needs of token i: its target and the rule's coefficients.
struct TokenGrad {
    int64_t target;
    float lse, g0, gsum;  // gsum = g0 + g1
};

TokenGrad token_grad(const LinearCeProblem& p, const Buffers& b, int64_t i) {
    return {target_of(p, b.targets, i), b.stats[2 * i + 1], b.grad[2 * i], b.grad[2 * i] + b.grad[2 * i + 1]};
}

// dl of one logit l at vocab column j (linear_cross_entropy.cpp's formula), one tanh per logit.
float logit_grad(const TokenGrad& t, int64_t j, float l, float cap) {
    float th = cap > 0 ? std::tanh(l / cap) : 0.0f, z = cap > 0 ? cap * th : l;
    float d = std::exp(z - t.lse) * t.gsum - (j == t.target ? t.g0 : 0.0f);
    return cap > 0 ? d * (1.0f - th * th) : d;
}

// The work items of `rows` rows in blocks, each with its own [rows, cols] logits tile.
template <class Fn>
void for_blocks(int64_t rows, const CpuTiles& t, Fn fn) {
    int64_t blocks = (rows + t.rows - 1) / t.rows;
    ThreadPool::global().parallel_for(0, blocks, [&](int64_t begin, int64_t end) {
        std::vector<float> s(static_cast<size_t>(t.rows * t.cols));
        for (int64_t blk = begin; blk < end; ++blk) fn(blk * t.rows, std::min(t.rows, rows - blk * t.rows), s.data());
    });
}

void forward(const LinearCeProblem& p, const Buffers& b, const CpuTiles& t) {
    const float cap = static_cast<float>(p.cap), inf = std::numeric_limits<float>::infinity();
    for_blocks(p.n, t, [&](int64_t i0, int64_t rows, float* s) {
        std::vector<float> m(static_cast<size_t>(rows), -inf), l(m.size(), 0.0f), picked(m.size(), 0.0f);
        for (int64_t j0 = 0; j0 < p.v; j0 += t.cols) {
            int64_t cols = std::min(t.cols, p.v - j0);
            logits(b.x + i0 * p.d, rows, b.w + j0 * p.d, cols, p.d, t.cols, s);
            for (int64_t r = 0; r < rows; ++r) {
                float* z = s + r * t.cols;
                float mx = m[r];
                for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, z[j] = softcap(z[j], cap));
                float sum = 0;
                for (int64_t j = 0; j < cols; ++j) sum += std::exp(z[j] - mx);
                l[r] = l[r] * std::exp(m[r] - mx) + sum;  // exp(-inf) = 0 on the first tile
                m[r] = mx;
                int64_t target = target_of(p, b.targets, i0 + r) - j0;
                if (target >= 0 && target < cols) picked[r] = z[target];
            }
        }
        for (int64_t r = 0; r < rows; ++r) {
            float lse = m[r] + std::log(l[r]);
            b.out[2 * (i0 + r)] = lse - picked[r];
            b.out[2 * (i0 + r) + 1] = lse;
        }
    });
}

void grad_x(const LinearCeProblem& p, const Buffers& b, const CpuTiles& t) {
    const float cap = static_cast<float>(p.cap);
    for_blocks(p.n, t, [&](int64_t i0, int64_t rows, float* s) {
        for (int64_t j0 = 0; j0 < p.v; j0 += t.cols) {
            int64_t cols = std::min(t.cols, p.v - j0);
            logits(b.x + i0 * p.d, rows, b.w + j0 * p.d, cols, p.d, t.cols, s);
            for (int64_t r = 0; r < rows; ++r) {
                TokenGrad tg = token_grad(p, b, i0 + r);
                for (int64_t j = 0; j < cols; ++j) s[r * t.cols + j] = logit_grad(tg, j0 + j, s[r * t.cols + j], cap);
            }
            accumulate(s, rows, cols, t.cols, b.w + j0 * p.d, p.d, j0 == 0, b.out + i0 * p.d);
        }
    });
}

void grad_w(const LinearCeProblem& p, const Buffers& b, const CpuTiles& t) {
    const float cap = static_cast<float>(p.cap);
    for_blocks(p.v, t, [&](int64_t j0, int64_t rows, float* s) {
        std::vector<TokenGrad> tokens(static_cast<size_t>(t.cols));
        for (int64_t i0 = 0; i0 < p.n; i0 += t.cols) {
            int64_t cols = std::min(t.cols, p.n - i0);
            logits(b.w + j0 * p.d, rows, b.x + i0 * p.d, cols, p.d, t.cols, s);
            for (int64_t i = 0; i < cols; ++i) tokens[static_cast<size_t>(i)] = token_grad(p, b, i0 + i);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t i = 0; i < cols; ++i)
                    s[r * t.cols + i] = logit_grad(tokens[static_cast<size_t>(i)], j0 + r, s[r * t.cols + i], cap);
            accumulate(s, rows, cols, t.cols, b.x + i0 * p.d, p.d, i0 == 0, b.out + j0 * p.d);
        }
    });
}

}  // namespace

void linear_ce_cpu(const LinearCeProblem& p, const std::vector<void*>& buffers, CpuTiles tiles) {
    PG_ASSERT(p.dtype == DType::f32, "the CPU linear cross-entropy computes in f32, not {}", dtype_name(p.dtype));
    Buffers b = typed(p, buffers);
    switch (p.pass) {
        case Pass::Forward: forward(p, b, tiles); break;
        case Pass::GradX: grad_x(p, b, tiles); break;
        case Pass::GradW: grad_w(p, b, tiles); break;
    }
}

}  // namespace pg::ce
