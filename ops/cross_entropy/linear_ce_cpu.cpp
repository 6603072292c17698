// The linear cross-entropy CPU passes (see linear_ce_cpu.h). Dot products over d run as "row times
// the transposed tile" so that the inner loop walks the tile's columns contiguously and vectorizes
// without reassociating a sum; accumulations into d-wide rows are axpys.
#include "ops/cross_entropy/linear_ce_cpu.h"

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

// dst[c * ld + r] = src[r * d + c] for n rows: a tile with its rows contiguous per column.
void transpose_tile(const float* src, int64_t n, int64_t d, int64_t ld, float* dst) {
    for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < d; ++c) dst[c * ld + r] = src[r * d + c];
}

// s[j] = sum_c a[c] * t[c * ld + j] for j < n.
void row_times_tile(const float* a, const float* t, int64_t d, int64_t ld, int64_t n, float* s) {
    std::fill(s, s + n, 0.0f);
    for (int64_t c = 0; c < d; ++c) {
        float ac = a[c];
        const float* tc = t + c * ld;
        for (int64_t j = 0; j < n; ++j) s[j] += ac * tc[j];
    }
}

void axpy(float a, const float* x, int64_t n, float* y) {
    for (int64_t c = 0; c < n; ++c) y[c] += a * x[c];
}

float softcap(float l, float cap) { return cap > 0 ? cap * std::tanh(l / cap) : l; }

// dl of one logit l of token i at vocab column j (linear_cross_entropy.cpp's formula).
float logit_grad(const LinearCeProblem& p, const Buffers& b, int64_t i, int64_t j, float l) {
    float cap = static_cast<float>(p.cap);
    float z = softcap(l, cap), g0 = b.grad[2 * i], g1 = b.grad[2 * i + 1];
    float d = std::exp(z - b.stats[2 * i + 1]) * (g0 + g1) - (j == target_of(p, b.targets, i) ? g0 : 0.0f);
    if (cap > 0) {
        float t = std::tanh(l / cap);
        d *= 1.0f - t * t;
    }
    return d;
}

struct Scratch {
    std::vector<float> tile, s;
    Scratch(int64_t d, int64_t cols) : tile(static_cast<size_t>(d * cols)), s(static_cast<size_t>(cols)) {}
};

// The work items of `rows` rows in blocks, each with its own scratch.
template <class Fn>
void for_blocks(int64_t rows, const CpuTiles& t, const LinearCeProblem& p, Fn fn) {
    int64_t blocks = (rows + t.rows - 1) / t.rows;
    ThreadPool::global().parallel_for(0, blocks, [&](int64_t begin, int64_t end) {
        Scratch sc(p.d, t.cols);
        for (int64_t blk = begin; blk < end; ++blk) fn(blk * t.rows, std::min(t.rows, rows - blk * t.rows), sc);
    });
}

void forward(const LinearCeProblem& p, const Buffers& b, const CpuTiles& t) {
    const float cap = static_cast<float>(p.cap), inf = std::numeric_limits<float>::infinity();
    for_blocks(p.n, t, p, [&](int64_t i0, int64_t rows, Scratch& sc) {
        std::vector<float> m(static_cast<size_t>(rows), -inf), l(m.size(), 0.0f), picked(m.size(), 0.0f);
        for (int64_t j0 = 0; j0 < p.v; j0 += t.cols) {
            int64_t cols = std::min(t.cols, p.v - j0);
            transpose_tile(b.w + j0 * p.d, cols, p.d, t.cols, sc.tile.data());
            for (int64_t r = 0; r < rows; ++r) {
                row_times_tile(b.x + (i0 + r) * p.d, sc.tile.data(), p.d, t.cols, cols, sc.s.data());
                float mx = m[r];
                for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, sc.s[j] = softcap(sc.s[j], cap));
                float sum = 0;
                for (int64_t j = 0; j < cols; ++j) sum += std::exp(sc.s[j] - mx);
                l[r] = l[r] * std::exp(m[r] - mx) + sum;  // exp(-inf) = 0 on the first tile
                m[r] = mx;
                int64_t target = target_of(p, b.targets, i0 + r) - j0;
                if (target >= 0 && target < cols) picked[r] = sc.s[target];
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
    for_blocks(p.n, t, p, [&](int64_t i0, int64_t rows, Scratch& sc) {
        std::fill(b.out + i0 * p.d, b.out + (i0 + rows) * p.d, 0.0f);
        for (int64_t j0 = 0; j0 < p.v; j0 += t.cols) {
            int64_t cols = std::min(t.cols, p.v - j0);
            transpose_tile(b.w + j0 * p.d, cols, p.d, t.cols, sc.tile.data());
            for (int64_t i = i0; i < i0 + rows; ++i) {
                row_times_tile(b.x + i * p.d, sc.tile.data(), p.d, t.cols, cols, sc.s.data());
                for (int64_t j = 0; j < cols; ++j)
                    axpy(logit_grad(p, b, i, j0 + j, sc.s[j]), b.w + (j0 + j) * p.d, p.d, b.out + i * p.d);
            }
        }
    });
}

void grad_w(const LinearCeProblem& p, const Buffers& b, const CpuTiles& t) {
    for_blocks(p.v, t, p, [&](int64_t j0, int64_t rows, Scratch& sc) {
        std::fill(b.out + j0 * p.d, b.out + (j0 + rows) * p.d, 0.0f);
        for (int64_t i0 = 0; i0 < p.n; i0 += t.cols) {
            int64_t cols = std::min(t.cols, p.n - i0);
            transpose_tile(b.x + i0 * p.d, cols, p.d, t.cols, sc.tile.data());
            for (int64_t j = j0; j < j0 + rows; ++j) {
                row_times_tile(b.w + j * p.d, sc.tile.data(), p.d, t.cols, cols, sc.s.data());
                for (int64_t i = 0; i < cols; ++i)
                    axpy(logit_grad(p, b, i0 + i, j, sc.s[i]), b.x + (i0 + i) * p.d, p.d, b.out + j * p.d);
            }
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
