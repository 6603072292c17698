// The baseline's int8 export (spec §3.7, `quantize_state_dict_int8` in train_gpt.py), bit for bit:
//   - non-float tensors: stored as they are;
//   - float tensors with at most 65,536 elements: passed through; names containing a control
//     pattern (attn_scale, mlp_scale, resid_mix, q_gain, skip_weight, and their plurals) are kept
//     fp32, other fp32/bf16 tensors are stored fp16 with the original dtype restored on load, fp16
//     tensors as they are;
//   - 2-D float tensors: per-row int8. clip_r = torch.quantile(|w_r|, 0.9999984) (linear
//     interpolation, computed in fp32 like torch), scale_r = max(clip_r / 127, 1/127) in fp32,
//     q = clamp(round_half_even(clamp(w, -clip_r, clip_r) / scale_r), -127, 127); the scale is
//     stored fp16 (q is computed with the fp32 scale, as in the baseline);
//   - other float tensors: per-tensor int8 with the same quantile, scale = clip / 127 (1 when
//     clip is 0; no 1/127 floor here, as in the baseline), stored fp32.
// Dequantization: w = q * scale in fp32, cast to the original dtype. Optimizer state
// ("<param>.exp_avg", ...) is never exported.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/export/safetensors.h"

namespace pg::io {

// Float tensors with at most this many elements are passed through instead of quantized.
inline constexpr int64_t kKeepFloatMaxNumel = 65'536;
// torch.quantile turns the Python float 99.99984 / 100 into a float32 tensor.
inline constexpr float kInt8ClipQuantile = static_cast<float>(99.99984 / 100.0);

enum class QuantScheme : uint8_t { passthrough, int8_per_row, int8_per_tensor };
std::string_view quant_scheme_name(QuantScheme s);  // "passthrough", "int8_per_row", "int8_per_tensor"

struct QuantizedTensor {
    QuantScheme scheme = QuantScheme::passthrough;
    DType orig_dtype = DType::f32;  // dtype of the exported tensor (for statistics)
    DType out_dtype = DType::f32;   // dtype dequantize returns: orig_dtype, except fp32 for control
                                    // tensors (the baseline keeps those fp32 whatever they were)
    Shape shape;
    HostTensor stored;              // passthrough: the tensor as stored (fp32, fp16 or non-float)
    std::vector<int8_t> q;          // int8 schemes: numel() values in [-127, 127], row-major
    HostTensor scale;               // int8_per_row: f16 [rows]; int8_per_tensor: f32 []

    int64_t numel() const { return pg::numel(shape); }
    int64_t payload_bytes() const;  // bytes of stored data (q + scales, or the passthrough tensor)
};

// The statistics the baseline logs next to the artifact size.
struct QuantStats {
    int64_t param_count = 0;           // elements over all exported tensors
    int64_t num_tensors = 0;
    int64_t num_float_tensors = 0;     // tensors quantized to int8
    int64_t num_nonfloat_tensors = 0;
    int64_t baseline_tensor_bytes = 0; // bytes of the tensors in their original dtypes
    int64_t int8_payload_bytes = 0;    // bytes of the quantized payloads and passthrough tensors
};

struct QuantizedModel {
    std::map<std::string, QuantizedTensor> tensors;
    QuantStats stats() const;
};

// True when `name` contains one of the baseline's control-tensor patterns.
bool is_control_tensor_name(std::string_view name);

// torch.quantile(values, q) with linear interpolation, in fp32 exactly as torch computes it:
// rank = q * (n - 1) in fp32, then lerp between the order statistics at floor(rank) and ceil(rank)
// with torch's lerp formula. `values` must be non-empty and free of NaN.
float torch_quantile(std::vector<float> values, float q);

// Quantizes one tensor by the rules above. Throws pg::Error naming the tensor when a tensor to be
// quantized holds NaN or Inf (the model diverged; there is nothing meaningful to export).
QuantizedTensor quantize_tensor(std::string_view name, const HostTensor& t);

// Quantizes every model parameter of `state_dict`, skipping optimizer state.
QuantizedModel quantize_int8(const TensorMap& state_dict);

HostTensor dequantize_tensor(const QuantizedTensor& t);
TensorMap dequantize(const QuantizedModel& model);

}  // namespace pg::io
