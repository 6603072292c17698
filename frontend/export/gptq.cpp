// GPTQ (see gptq.h). Linear algebra in double: the Hessians of a trained model have condition
// numbers around 1e4..1e6 after damping, where float Cholesky of H⁻¹ loses most digits.
#include "frontend/export/gptq.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "base/env.h"
#include "base/error.h"
#include "graph/dtype.h"

namespace pg::io {

namespace {

using env::KnobKind;
PG_KNOB({.name = "GPTQ", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "quantize the linear layers with full-Hessian GPTQ (calibrated as GPTQ_CALIB says)"});
PG_KNOB({.name = "GPTQ_CALIB", .kind = KnobKind::String, .default_value = "train",
         .doc = "GPTQ calibration text: train (GPTQ_BATCHES training batches) or selfgen (sequences the model "
                "samples itself, GPTQ_CALIB_NUM_SEQS etc.)",
         .choices = {"train", "selfgen"}});
PG_KNOB({.name = "GPTQ_BLOCK", .kind = KnobKind::Int, .default_value = "128", .doc = "GPTQ: columns per block"});
PG_KNOB({.name = "GPTQ_DAMP", .kind = KnobKind::Float, .default_value = "0.01",
         .doc = "GPTQ: damping, as a fraction of mean(diag H)"});
PG_KNOB({.name = "GPTQ_BATCHES", .kind = KnobKind::Int, .default_value = "16",
         .doc = "GPTQ: calibration batches of TRAIN_BATCH_TOKENS tokens"});

struct Problem {
    int64_t rows = 0, cols = 0;
    std::vector<double> w;       // rows × cols, permuted columns
    std::vector<double> h;       // cols × cols, then U
    std::vector<int64_t> perm;   // perm[k] = original column of permuted column k
};

// Dead columns, damping and act-order permutation (spec §4.5, in that order).
void prepare(Problem& p, const GptqConfig& cfg) {
    const int64_t n = p.cols;
    double mean_diag = 0;
    for (int64_t j = 0; j < n; ++j) {
        double& d = p.h[static_cast<size_t>(j * n + j)];
        if (d == 0) {
            d = 1;
            for (int64_t r = 0; r < p.rows; ++r) p.w[static_cast<size_t>(r * n + j)] = 0;
        }
        mean_diag += d;
    }
    const double damp = cfg.damp * mean_diag / static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j) p.h[static_cast<size_t>(j * n + j)] += damp;
    p.perm.resize(static_cast<size_t>(n));
    std::iota(p.perm.begin(), p.perm.end(), 0);
    std::stable_sort(p.perm.begin(), p.perm.end(), [&](int64_t a, int64_t b) {
        return p.h[static_cast<size_t>(a * n + a)] > p.h[static_cast<size_t>(b * n + b)];
    });
    std::vector<double> w(p.w.size()), h(p.h.size());
    for (int64_t r = 0; r < p.rows; ++r)
        for (int64_t k = 0; k < n; ++k) w[static_cast<size_t>(r * n + k)] = p.w[static_cast<size_t>(r * n + p.perm[k])];
    for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < n; ++b)
            h[static_cast<size_t>(a * n + b)] = p.h[static_cast<size_t>(p.perm[a] * n + p.perm[b])];
    p.w = std::move(w);
    p.h = std::move(h);
}

// h <- U with Uᵀ U = H⁻¹, U upper triangular (row-major; the lower part zeroed).
void upper_cholesky_of_inverse(std::vector<double>& h, int64_t n, std::string_view name) {
    const auto ln = static_cast<lapack_int>(n);
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', ln, h.data(), ln);
    if (info == 0) info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', ln, h.data(), ln);
    // dpotri leaves H⁻¹ in the lower triangle; mirror it before factoring the upper one.
    for (int64_t a = 0; a < n && info == 0; ++a)
        for (int64_t b = a + 1; b < n; ++b) h[static_cast<size_t>(a * n + b)] = h[static_cast<size_t>(b * n + a)];
    if (info == 0) info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', ln, h.data(), ln);
    PG_CHECK(info == 0,
             "GPTQ of '{}' failed: its damped Hessian is not positive definite (LAPACK info {}); raise GPTQ_DAMP or "
             "calibrate on more batches (GPTQ_BATCHES)",
             name, info);
    for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < a; ++b) h[static_cast<size_t>(a * n + b)] = 0;
}

// The row scales: the clip rule on each original row, as fp32 values of the stored fp16.
std::vector<float> row_scales(const std::vector<float>& w, int64_t rows, int64_t cols, const QuantFormat& f,
                              HostTensor& stored) {
    std::vector<float> s(static_cast<size_t>(rows));
    std::vector<int8_t> scratch(static_cast<size_t>(cols));
    stored = HostTensor(DType::f16, {rows});
    for (int64_t r = 0; r < rows; ++r) {
        const uint16_t s16 =
            quantize_unit(std::span<const float>(w).subspan(static_cast<size_t>(r * cols), static_cast<size_t>(cols)),
                          f, scratch);
        std::memcpy(stored.bytes.data() + 2 * r, &s16, 2);
        s[static_cast<size_t>(r)] = f16_bits_to_f32(s16);
    }
    return s;
}

// The column loop over blocks; writes the permuted codes into q (rows × cols).
void quantize_blocks(Problem& p, const std::vector<float>& s, int range, int64_t block, std::vector<int8_t>& q) {
    const int64_t n = p.cols, rows = p.rows;
    std::vector<double> err;
    for (int64_t i1 = 0; i1 < n; i1 += block) {
        const int64_t i2 = std::min(i1 + block, n), bw = i2 - i1;
        err.assign(static_cast<size_t>(rows * bw), 0.0);
        for (int64_t j = i1; j < i2; ++j) {
            const double ujj = p.h[static_cast<size_t>(j * n + j)];
            for (int64_t r = 0; r < rows; ++r) {
                double* wr = p.w.data() + r * n;
                const double sr = s[static_cast<size_t>(r)];
                const double code = std::clamp(std::nearbyint(wr[j] / sr), -static_cast<double>(range),
                                               static_cast<double>(range));
                q[static_cast<size_t>(r * n + j)] = static_cast<int8_t>(code);
                const double e = (wr[j] - code * sr) / ujj;
                err[static_cast<size_t>(r * bw + (j - i1))] = e;
                const double* uj = p.h.data() + j * n;
                for (int64_t k = j + 1; k < i2; ++k) wr[k] -= e * uj[k];
            }
        }
        if (i2 < n)  // W[:, i2:] -= Err · U[i1:i2, i2:]
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(n - i2),
                        static_cast<int>(bw), -1.0, err.data(), static_cast<int>(bw), p.h.data() + i1 * n + i2,
                        static_cast<int>(n), 1.0, p.w.data() + i2, static_cast<int>(n));
    }
}

}  // namespace

GptqConfig gptq_config_from_settings() {
    GptqConfig c;
    c.enabled = env::get_bool("GPTQ");
    c.block = env::get_int("GPTQ_BLOCK");
    c.damp = env::get_float("GPTQ_DAMP");
    c.batches = env::get_int("GPTQ_BATCHES");
    c.self_generated = env::get("GPTQ_CALIB") == "selfgen";
    PG_CHECK(c.block > 0, "GPTQ_BLOCK={} must be positive", c.block);
    PG_CHECK(c.damp >= 0, "GPTQ_DAMP={} must not be negative", c.damp);
    PG_CHECK(c.batches > 0, "GPTQ_BATCHES={} must be positive", c.batches);
    return c;
}

QuantizedTensor gptq_quantize(std::string_view name, const HostTensor& w, const Hessian& h, const QuantFormat& f,
                              const GptqConfig& cfg) {
    PG_CHECK(w.shape.size() == 2 && is_float(w.dtype), "GPTQ of '{}': a 2-D float weight is needed, got {} {}", name,
             dtype_name(w.dtype), shape_str(w.shape));
    PG_CHECK(!f.is_float() && f.group == 0, "GPTQ of '{}': format {} is not per-row integer; GPTQ needs one scale per row",
             name, f.name());
    Problem p;
    p.rows = w.shape[0];
    p.cols = w.shape[1];
    PG_CHECK(h.dim == p.cols && h.sum.size() == static_cast<size_t>(p.cols * p.cols) && h.rows > 0,
             "GPTQ of '{}': its Hessian is {}x{} over {} rows, but the weight has {} columns", name, h.dim, h.dim, h.rows,
             p.cols);
    const std::vector<float> wf = tensor_to_f32(w);
    check_finite(name, wf);
    QuantizedTensor out;
    out.scheme = QuantScheme::per_row;
    out.bits = f.bits;
    out.orig_dtype = out.out_dtype = w.dtype;
    out.shape = w.shape;
    const std::vector<float> s = row_scales(wf, p.rows, p.cols, f, out.scale);
    p.w.assign(wf.begin(), wf.end());
    p.h.resize(h.sum.size());
    for (size_t i = 0; i < p.h.size(); ++i) p.h[i] = h.sum[i] / static_cast<double>(h.rows);
    prepare(p, cfg);
    upper_cholesky_of_inverse(p.h, p.cols, name);
    std::vector<int8_t> permuted(static_cast<size_t>(p.rows * p.cols));
    quantize_blocks(p, s, f.range(), cfg.block, permuted);
    out.q.resize(permuted.size());
    for (int64_t r = 0; r < p.rows; ++r)
        for (int64_t k = 0; k < p.cols; ++k)
            out.q[static_cast<size_t>(r * p.cols + p.perm[static_cast<size_t>(k)])] =
                permuted[static_cast<size_t>(r * p.cols + k)];
    return out;
}

void apply_gptq(QuantizedModel& model, const TensorMap& weights, const QuantPlan& plan, const HessianMap& hessians,
                const GptqConfig& cfg) {
    for (const auto& [name, h] : hessians) {
        auto w = weights.find(name);
        PG_CHECK(w != weights.end(), "GPTQ: a Hessian for '{}', which the model does not have", name);
        const QuantFormat* f = matrix_format(name, w->second, plan);
        if (f == nullptr || f->is_float()) continue;
        model.tensors[name] = gptq_quantize(name, w->second, h, *f, cfg);
    }
}

}  // namespace pg::io
