// State-dict quantization by a QuantPlan and dequantization (see quantize.h); the baseline's
// int8 rules are reproduced in PyTorch's fp32 arithmetic step by step (clip_rules.cpp).
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

QuantizedTensor header_of(const HostTensor& t, QuantScheme scheme) {
    QuantizedTensor out;
    out.scheme = scheme;
    out.orig_dtype = out.out_dtype = t.dtype;
    out.shape = t.shape;
    return out;
}

QuantizedTensor stored_as(const HostTensor& t, DType dtype) {
    QuantizedTensor out = header_of(t, QuantScheme::passthrough);
    out.stored = t.dtype == dtype ? t : tensor_from_f32(tensor_to_f32(t), dtype, t.shape);
    return out;
}

QuantizedTensor passthrough(std::string_view name, const HostTensor& t, const QuantPlan& plan) {
    if (!is_float(t.dtype)) return stored_as(t, t.dtype);
    if (is_control_tensor_name(name)) {
        if (plan.at(TensorClass::ctrl).bits == 16) return stored_as(t, DType::f16);
        QuantizedTensor out = stored_as(t, DType::f32);
        out.out_dtype = DType::f32;  // kept fp32, and nothing records the original dtype
        return out;
    }
    return stored_as(t, DType::f16);  // fp32/bf16 stored fp16, restored on load; fp16 as it is
}

QuantizedTensor quantize_matrix(std::string_view name, const HostTensor& t, const QuantFormat& f) {
    const int64_t rows = t.shape[0], cols = t.shape[1];
    const int64_t unit = f.group > 0 ? f.group : cols;
    PG_CHECK(cols % unit == 0, "cannot quantize tensor '{}' ({}) as {}: its rows of {} do not split into groups of {}",
             name, shape_str(t.shape), f.name(), cols, unit);
    QuantizedTensor out = header_of(t, f.group > 0 ? QuantScheme::per_group : QuantScheme::per_row);
    out.bits = f.bits;
    out.group = f.group;
    const std::vector<float> w = tensor_to_f32(t);
    check_finite(name, w);
    out.q.resize(w.size());
    const int64_t units = rows * (cols / unit);
    out.scale = f.group > 0 ? HostTensor(DType::f16, {rows, cols / unit}) : HostTensor(DType::f16, {rows});
    for (int64_t u = 0; u < units; ++u) {
        const auto begin = static_cast<size_t>(u * unit);
        const uint16_t s16 = quantize_unit(std::span<const float>(w).subspan(begin, static_cast<size_t>(unit)), f,
                                           std::span<int8_t>(out.q).subspan(begin, static_cast<size_t>(unit)));
        std::memcpy(out.scale.bytes.data() + 2 * u, &s16, 2);
    }
    return out;
}

QuantizedTensor quantize_per_tensor(std::string_view name, const HostTensor& t) {
    QuantizedTensor out = header_of(t, QuantScheme::per_tensor);
    const std::vector<float> w = tensor_to_f32(t);
    check_finite(name, w);
    std::vector<float> abs_w(w.size());
    for (size_t i = 0; i < w.size(); ++i) abs_w[i] = std::fabs(w[i]);
    const float clip = torch_quantile(std::move(abs_w), kInt8ClipQuantile);
    // The baseline computes clip / 127 on Python doubles, then makes an fp32 tensor of it (equal
    // to the correctly rounded fp32 quotient: a double holds more than 2*24+2 bits).
    const float scale = clip > 0 ? static_cast<float>(static_cast<double>(clip) / 127.0) : 1.0f;
    out.q.resize(w.size());
    for (size_t i = 0; i < w.size(); ++i)
        out.q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(std::clamp(w[i], -clip, clip) / scale), -127.0f, 127.0f));
    out.scale = HostTensor(DType::f32, {});
    std::memcpy(out.scale.bytes.data(), &scale, 4);
    return out;
}

// The scale of code i: per row, per group or per tensor.
std::vector<float> scale_per_code(const QuantizedTensor& t) {
    std::vector<float> out(t.q.size());
    const std::vector<float> scales = tensor_to_f32(t.scale);
    const auto per = scales.empty() ? size_t{1} : std::max<size_t>(1, out.size() / scales.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = scales[std::min(i / per, scales.size() - 1)];
    return out;
}

}  // namespace

std::vector<float> tensor_to_f32(const HostTensor& t) {
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
        default: PG_UNREACHABLE("tensor_to_f32 of a {} tensor", dtype_name(t.dtype));
    }
    return out;
}

HostTensor tensor_from_f32(const std::vector<float>& v, DType dtype, const Shape& shape) {
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
        default: PG_UNREACHABLE("tensor_from_f32 to {}", dtype_name(dtype));
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

std::string QuantizedTensor::format_name() const {
    if (scheme == QuantScheme::passthrough) return "passthrough";
    const std::string code = bits == 2 ? "ternary" : fmt::format("int{}", bits);
    if (scheme == QuantScheme::per_tensor) return code + "_per_tensor";
    if (scheme == QuantScheme::per_group) return fmt::format("{}_per_group{}", code, group);
    return code + "_per_row";
}

int64_t QuantizedTensor::payload_bytes() const {
    if (scheme == QuantScheme::passthrough) return static_cast<int64_t>(stored.bytes.size());
    const auto n = static_cast<int64_t>(q.size());
    return static_cast<int64_t>(scale.bytes.size()) + (n * bits + 7) / 8;
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

const QuantFormat* matrix_format(std::string_view name, const HostTensor& t, const QuantPlan& plan) {
    if (!is_float(t.dtype) || t.numel() <= kKeepFloatMaxNumel || t.shape.size() != 2) return nullptr;
    const TensorClass c = classify_tensor(name);
    // A large control-named tensor is quantized like any other matrix, as in the baseline.
    return &plan.at(c == TensorClass::ctrl ? TensorClass::other : c);
}

QuantizedTensor quantize_tensor(std::string_view name, const HostTensor& t, const QuantPlan& plan) {
    PG_CHECK(t.bytes.size() == static_cast<size_t>(t.numel()) * dtype_size(t.dtype),
             "cannot quantize tensor '{}': it holds {} bytes but {} {} needs {}", name, t.bytes.size(),
             dtype_name(t.dtype), shape_str(t.shape), static_cast<size_t>(t.numel()) * dtype_size(t.dtype));
    if (!is_float(t.dtype) || t.numel() <= kKeepFloatMaxNumel) return passthrough(name, t, plan);
    const QuantFormat* f = matrix_format(name, t, plan);
    if (f == nullptr) return quantize_per_tensor(name, t);
    if (f->is_float()) return stored_as(t, f->bits == 16 ? DType::f16 : DType::f32);
    return quantize_matrix(name, t, *f);
}

QuantizedModel quantize_model(const TensorMap& state_dict, const QuantPlan& plan) {
    QuantizedModel model;
    for (const auto& [name, t] : state_dict)
        if (!is_optimizer_state(name)) model.tensors.emplace(name, quantize_tensor(name, t, plan));
    return model;
}

HostTensor dequantize_tensor(const QuantizedTensor& t) {
    if (t.scheme == QuantScheme::passthrough) {
        if (t.stored.dtype == t.out_dtype) return t.stored;
        return tensor_from_f32(tensor_to_f32(t.stored), t.out_dtype, t.shape);
    }
    const std::vector<float> scales = scale_per_code(t);
    std::vector<float> w(t.q.size());
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(t.q[i]) * scales[i];
    return tensor_from_f32(w, t.out_dtype, t.shape);
}

TensorMap dequantize(const QuantizedModel& model) {
    TensorMap out;
    for (const auto& [name, t] : model.tensors) out.emplace(name, dequantize_tensor(t));
    return out;
}

}  // namespace pg::io
