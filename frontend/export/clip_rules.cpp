// Clip rules (see clip_rules.h). Where PyTorch's result depends on how it evaluates an
// expression, the comment says which evaluation we copy and why.
#include "frontend/export/clip_rules.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "graph/dtype.h"

namespace pg::io {

namespace {

// torch.round (half to even, the default floating-point rounding mode) then clamp to [-R, R].
int8_t round_code(float x, int range) {
    const float r = std::nearbyint(x);
    return static_cast<int8_t>(std::clamp(r, -static_cast<float>(range), static_cast<float>(range)));
}

std::vector<float> abs_values(std::span<const float> w) {
    std::vector<float> a(w.size());
    for (size_t i = 0; i < w.size(); ++i) a[i] = std::fabs(w[i]);
    return a;
}

// The baseline's rule for one clip value: scale = max(clip / R, floor) in fp32 (clamp_min of the
// Python double 1/127 converts it to the tensor's fp32), q from the clipped values.
uint16_t quantize_clipped(std::span<const float> w, float clip, int range, std::span<int8_t> q) {
    const float floor_scale = range == 127 ? static_cast<float>(1.0 / 127.0) : kMinScale;
    const float scale = std::max(clip / static_cast<float>(range), floor_scale);
    for (size_t i = 0; i < w.size(); ++i) q[i] = round_code(std::max(std::min(w[i], clip), -clip) / scale, range);
    return f32_to_f16_bits(scale);
}

// Codes of w for a given fp32 scale, rounded to fp16 first.
uint16_t quantize_with_scale(std::span<const float> w, float scale, int range, std::span<int8_t> q) {
    const uint16_t s16 = f32_to_f16_bits(std::max(scale, kMinScale));
    const float s = f16_bits_to_f32(s16);
    for (size_t i = 0; i < w.size(); ++i) q[i] = round_code(w[i] / s, range);
    return s16;
}

// Squared reconstruction error of codes q with the fp16 scale s16, in double.
double squared_error(std::span<const float> w, std::span<const int8_t> q, uint16_t s16) {
    const double s = f16_bits_to_f32(s16);
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        const double d = static_cast<double>(w[i]) - q[i] * s;
        e += d * d;
    }
    return e;
}

uint16_t clip_search(std::span<const float> w, int range, std::span<int8_t> q) {
    const std::vector<float> a = abs_values(w);
    std::vector<int8_t> trial(w.size());
    double best = INFINITY;
    uint16_t best_scale = 0;
    for (float p : kClipSearchQuantiles) {
        const uint16_t s16 = quantize_clipped(w, torch_quantile(a, p), range, trial);
        const double e = squared_error(w, trial, s16);
        if (e < best) {
            best = e;
            best_scale = s16;
            std::copy(trial.begin(), trial.end(), q.begin());
        }
    }
    return best_scale;
}

// Unbiased standard deviation (torch.std's default), accumulated in double.
float std_dev(std::span<const float> w) {
    if (w.size() < 2) return 0.0f;
    double mean = 0;
    for (float v : w) mean += v;
    mean /= static_cast<double>(w.size());
    double ss = 0;
    for (float v : w) ss += (v - mean) * (v - mean);
    return static_cast<float>(std::sqrt(ss / static_cast<double>(w.size() - 1)));
}

float abs_mean(std::span<const float> w) {
    double s = 0;
    for (float v : w) s += std::fabs(v);
    return w.empty() ? 0.0f : static_cast<float>(s / static_cast<double>(w.size()));
}

}  // namespace

float torch_quantile(std::vector<float> values, float q) {
    PG_ASSERT(!values.empty(), "quantile of an empty tensor");
    const int64_t last = static_cast<int64_t>(values.size()) - 1;
    // torch: ranks = q * last_index in fp32; below = (long)ranks; weight = ranks - below.
    const float rank = q * static_cast<float>(last);
    const auto below = static_cast<int64_t>(rank);
    const auto above = static_cast<int64_t>(std::ceil(rank));
    const float weight = rank - static_cast<float>(below);
    auto lo_it = values.begin() + below;
    std::nth_element(values.begin(), lo_it, values.end());
    const float lo = *lo_it;
    const float hi = above == below ? lo : *std::min_element(lo_it + 1, values.end());
    // torch's CPU lerp (AVX2/AVX-512 kernels, used for every tail element too) evaluates
    // weight < 0.5 ? fma(weight, hi - lo, lo) : fma(weight - 1, hi - lo, hi). Checked bit-exact
    // against torch.lerp and torch.quantile; the unfused formula differs in ~1 of 10 results.
    const float diff = hi - lo;
    return std::fabs(weight) < 0.5f ? std::fma(weight, diff, lo) : std::fma(weight - 1.0f, diff, hi);
}

uint16_t quantize_unit(std::span<const float> w, const QuantFormat& f, std::span<int8_t> q) {
    PG_ASSERT(!f.is_float() && q.size() == w.size() && !w.empty(), "quantize_unit of {} values", w.size());
    const int range = f.range();
    switch (f.clip) {
        case ClipRule::quantile: return quantize_clipped(w, torch_quantile(abs_values(w), kInt8ClipQuantile), range, q);
        case ClipRule::search: return clip_search(w, range, q);
        case ClipRule::sdclip: return quantize_with_scale(w, f.sd_k * std_dev(w) / static_cast<float>(range), range, q);
        case ClipRule::absmean: return quantize_with_scale(w, abs_mean(w), range, q);
    }
    PG_UNREACHABLE("clip rule {}", static_cast<int>(f.clip));
}

}  // namespace pg::io
