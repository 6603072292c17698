// The baseline's int8 quantization and dequantization, reproducing PyTorch's fp32 arithmetic step
// by step (see quantize.h for the rules). Where PyTorch's result depends on how it evaluates an
// expression, the comment says which evaluation we copy and why.
#include "frontend/export/quantize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "frontend/export/checkpoint.h"

namespace pg::io {

namespace {

// CONTROL_TENSOR_NAME_PATTERNS of train_gpt.py (also its INT8_KEEP_FLOAT_FP32_NAME_PATTERNS).
constexpr std::array<std::string_view, 9> kControlPatterns = {
    "attn_scale", "attn_scales", "mlp_scale",   "mlp_scales",  "resid_mix",
    "resid_mixes", "q_gain",     "skip_weight", "skip_weights"};

std::vector<float> to_f32(const HostTensor& t) {
    const int64_t n = t.numel();
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t* p = t.bytes.data();
    switch (t.dtype) {
        case DType::f32: std::memcpy(out.data(), p, out.size() * 4); break;
        case DType::bf16:
        case DType::f16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t b;
                std::memcpy(&b, p + 2 * i, 2);
                out[static_cast<size_t>(i)] = t.dtype == DType::bf16 ? bf16_bits_to_f32(b) : f16_bits_to_f32(b);
            }
            break;
        default: PG_UNREACHABLE("to_f32 of a {} tensor", dtype_name(t.dtype));
    }
    return out;
}

// Rounds fp32 values to `dtype` (round to nearest even, as torch's .to()).
HostTensor from_f32(const std::vector<float>& v, DType dtype, const Shape& shape) {
    HostTensor t(dtype, shape);
    uint8_t* p = t.bytes.data();
    switch (dtype) {
        case DType::f32: std::memcpy(p, v.data(), v.size() * 4); break;
        case DType::bf16:
        case DType::f16:
            for (size_t i = 0; i < v.size(); ++i) {
                const uint16_t b = dtype == DType::bf16 ? f32_to_bf16_bits(v[i]) : f32_to_f16_bits(v[i]);
                std::memcpy(p + 2 * i, &b, 2);
            }
            break;
        default: PG_UNREACHABLE("from_f32 to {}", dtype_name(dtype));
    }
    return t;
}

void check_finite(std::string_view name, const std::vector<float>& w) {
    for (size_t i = 0; i < w.size(); ++i)
        PG_CHECK(std::isfinite(w[i]),
                 "cannot quantize tensor '{}': element {} is {} (the model diverged); export a checkpoint from "
                 "before the divergence or lower the learning rate",
                 name, i, w[i]);
}

// torch.round (half to even, the default floating-point rounding mode) then clamp to [-127, 127].
int8_t round_to_int8(float x) {
    const float r = std::nearbyint(x);
    return static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
}

QuantizedTensor passthrough(std::string_view name, const HostTensor& t) {
    QuantizedTensor out;
    out.scheme = QuantScheme::passthrough;
    out.orig_dtype = t.dtype;
    out.out_dtype = t.dtype;
    out.shape = t.shape;
    if (!is_float(t.dtype) || (t.dtype == DType::f16 && !is_control_tensor_name(name))) {
        out.stored = t;
    } else if (is_control_tensor_name(name)) {
        out.out_dtype = DType::f32;  // kept fp32, and nothing records the original dtype
        out.stored = t.dtype == DType::f32 ? t : from_f32(to_f32(t), DType::f32, t.shape);
    } else {
        out.stored = from_f32(to_f32(t), DType::f16, t.shape);  // fp32/bf16 stored fp16, restored on load
    }
    return out;
}

QuantizedTensor quantize_per_row(std::string_view name, const HostTensor& t) {
    QuantizedTensor out;
    out.scheme = QuantScheme::int8_per_row;
    out.orig_dtype = out.out_dtype = t.dtype;
    out.shape = t.shape;
    const std::vector<float> w = to_f32(t);
    check_finite(name, w);
    const int64_t rows = t.shape[0];
    const int64_t cols = t.shape[1];
    out.q.resize(w.size());
    out.scale = HostTensor(DType::f16, {rows});
    // clamp_min(1.0 / 127.0) converts the Python double bound to the tensor's fp32.
    const float floor_scale = static_cast<float>(1.0 / 127.0);
    std::vector<float> abs_row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = w.data() + r * cols;
        for (int64_t c = 0; c < cols; ++c) abs_row[static_cast<size_t>(c)] = std::fabs(row[c]);
        const float clip = torch_quantile(abs_row, kInt8ClipQuantile);
        const float scale = std::max(clip / 127.0f, floor_scale);
        for (int64_t c = 0; c < cols; ++c) {
            const float clipped = std::max(std::min(row[c], clip), -clip);
            out.q[static_cast<size_t>(r * cols + c)] = round_to_int8(clipped / scale);
        }
        const uint16_t s16 = f32_to_f16_bits(scale);
        std::memcpy(out.scale.bytes.data() + 2 * r, &s16, 2);
    }
    return out;
}

QuantizedTensor quantize_per_tensor(std::string_view name, const HostTensor& t) {
    QuantizedTensor out;
    out.scheme = QuantScheme::int8_per_tensor;
    out.orig_dtype = out.out_dtype = t.dtype;
    out.shape = t.shape;
    const std::vector<float> w = to_f32(t);
    check_finite(name, w);
    std::vector<float> abs_w(w.size());
    for (size_t i = 0; i < w.size(); ++i) abs_w[i] = std::fabs(w[i]);
    const float clip = torch_quantile(std::move(abs_w), kInt8ClipQuantile);
    // The baseline computes clip / 127 on Python doubles, then makes an fp32 tensor of it (equal
    // to the correctly rounded fp32 quotient: a double holds more than 2*24+2 bits).
    const float scale = clip > 0 ? static_cast<float>(static_cast<double>(clip) / 127.0) : 1.0f;
    out.q.resize(w.size());
    for (size_t i = 0; i < w.size(); ++i) out.q[i] = round_to_int8(std::clamp(w[i], -clip, clip) / scale);
    out.scale = HostTensor(DType::f32, {});
    std::memcpy(out.scale.bytes.data(), &scale, 4);
    return out;
}

}  // namespace

std::string_view quant_scheme_name(QuantScheme s) {
    switch (s) {
        case QuantScheme::passthrough: return "passthrough";
        case QuantScheme::int8_per_row: return "int8_per_row";
        case QuantScheme::int8_per_tensor: return "int8_per_tensor";
    }
    PG_UNREACHABLE("quant scheme {}", static_cast<int>(s));
}

int64_t QuantizedTensor::payload_bytes() const {
    if (scheme == QuantScheme::passthrough) return static_cast<int64_t>(stored.bytes.size());
    return static_cast<int64_t>(q.size() + scale.bytes.size());
}

QuantStats QuantizedModel::stats() const {
    QuantStats s;
    for (const auto& [name, t] : tensors) {
        s.param_count += t.numel();
        s.num_tensors += 1;
        s.baseline_tensor_bytes += t.numel() * static_cast<int64_t>(dtype_size(t.orig_dtype));
        s.int8_payload_bytes += t.payload_bytes();
        if (!is_float(t.orig_dtype)) s.num_nonfloat_tensors += 1;
        if (t.scheme != QuantScheme::passthrough) s.num_float_tensors += 1;
    }
    return s;
}

bool is_control_tensor_name(std::string_view name) {
    return std::any_of(kControlPatterns.begin(), kControlPatterns.end(),
                       [&](std::string_view p) { return name.find(p) != std::string_view::npos; });
}

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

QuantizedTensor quantize_tensor(std::string_view name, const HostTensor& t) {
    PG_CHECK(t.bytes.size() == static_cast<size_t>(t.numel()) * dtype_size(t.dtype),
             "cannot quantize tensor '{}': it holds {} bytes but {} {} needs {}", name, t.bytes.size(),
             dtype_name(t.dtype), shape_str(t.shape), static_cast<size_t>(t.numel()) * dtype_size(t.dtype));
    if (!is_float(t.dtype) || t.numel() <= kKeepFloatMaxNumel) return passthrough(name, t);
    if (t.shape.size() == 2) return quantize_per_row(name, t);
    return quantize_per_tensor(name, t);
}

QuantizedModel quantize_int8(const TensorMap& state_dict) {
    QuantizedModel model;
    for (const auto& [name, t] : state_dict)
        if (!is_optimizer_state(name)) model.tensors.emplace(name, quantize_tensor(name, t));
    return model;
}

HostTensor dequantize_tensor(const QuantizedTensor& t) {
    if (t.scheme == QuantScheme::passthrough) {
        if (t.stored.dtype == t.out_dtype) return t.stored;
        return from_f32(to_f32(t.stored), t.out_dtype, t.shape);
    }
    std::vector<float> w(t.q.size());
    if (t.scheme == QuantScheme::int8_per_row) {
        const int64_t rows = t.shape[0];
        const int64_t cols = rows == 0 ? 0 : t.numel() / rows;
        const std::vector<float> scales = to_f32(t.scale);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) {
                const size_t i = static_cast<size_t>(r * cols + c);
                w[i] = static_cast<float>(t.q[i]) * scales[static_cast<size_t>(r)];
            }
    } else {
        float scale;
        std::memcpy(&scale, t.scale.bytes.data(), 4);
        for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(t.q[i]) * scale;
    }
    return from_f32(w, t.out_dtype, t.shape);
}

TensorMap dequantize(const QuantizedModel& model) {
    TensorMap out;
    for (const auto& [name, t] : model.tensors) out.emplace(name, dequantize_tensor(t));
    return out;
}

}  // namespace pg::io
