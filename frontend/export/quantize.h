// Quantization of a state dict for the artifact, by a QuantPlan (quant_format.h). With the default
// plan this is the baseline's int8 export (spec §3.7, `quantize_state_dict_int8` in train_gpt.py),
// bit for bit:
//   - non-float tensors: stored as they are;
//   - float tensors with at most 65,536 elements: passed through; names containing a control
//     pattern (attn_scale, mlp_scale, resid_mix, q_gain, skip_weight, and their plurals) are kept
//     fp32 (or fp16 with ctrl:fp16), other fp32/bf16 tensors are stored fp16 with the original
//     dtype restored on load, fp16 tensors as they are;
//   - 2-D float tensors: the format of their class, per row (or per group) with fp16 scales. The
//     baseline's int8: clip_r = torch.quantile(|w_r|, 0.9999984), scale_r = max(clip_r / 127,
//     1/127) in fp32, q = clamp(round_half_even(clamp(w, -clip_r, clip_r) / scale_r), -127, 127),
//     the scale stored fp16 (q is computed with the fp32 scale, as in the baseline); the other
//     rules in clip_rules.h. fp16/fp32 formats store the tensor as that float type;
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

#include "frontend/export/clip_rules.h"
#include "frontend/export/quant_format.h"
#include "frontend/export/safetensors.h"

namespace pg::io {

// Float tensors with at most this many elements are passed through instead of quantized.
inline constexpr int64_t kKeepFloatMaxNumel = 65'536;

enum class QuantScheme : uint8_t { passthrough, per_row, per_tensor, per_group };

struct QuantizedTensor {
    QuantScheme scheme = QuantScheme::passthrough;
    int bits = 8;                   // integer schemes: code width (2 = ternary)
    int64_t group = 0;              // per_group: elements per scale
    DType orig_dtype = DType::f32;  // dtype of the exported tensor (for statistics)
    DType out_dtype = DType::f32;   // dtype dequantize returns: orig_dtype, except fp32 for control
                                    // tensors (the baseline keeps those fp32 whatever they were)
    Shape shape;
    HostTensor stored;              // passthrough: the tensor as stored (fp32, fp16 or non-float)
    std::vector<int8_t> q;          // integer schemes: numel() codes in [-R, R], row-major
    HostTensor scale;               // per_row: f16 [rows]; per_group: f16 [rows, cols / group];
                                    // per_tensor: f32 []

    int64_t numel() const { return pg::numel(shape); }
    int range() const { return (1 << (bits - 1)) - 1; }
    // "passthrough", "int8_per_row", "int6_per_group64", "ternary_per_row", "int8_per_tensor".
    std::string format_name() const;
    // Bytes of stored data: the passthrough tensor, or scales plus codes at `bits` bits each.
    int64_t payload_bytes() const;
};

// The statistics the baseline logs next to the artifact size.
struct QuantStats {
    int64_t param_count = 0;           // elements over all exported tensors
    int64_t num_tensors = 0;
    int64_t num_float_tensors = 0;     // tensors quantized to integers
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

// The float values of a float tensor (fp32, bf16 or fp16), and fp32 values rounded to `dtype`
// (round to nearest even, as torch's .to()).
std::vector<float> tensor_to_f32(const HostTensor& t);
HostTensor tensor_from_f32(const std::vector<float>& v, DType dtype, const Shape& shape);

// The format `plan` gives tensor `name` (of shape `t`): nullptr when the tensor is passed through
// by the baseline's rules or quantized per tensor.
const QuantFormat* matrix_format(std::string_view name, const HostTensor& t, const QuantPlan& plan);

// Quantizes one tensor by the rules above. Throws pg::Error naming the tensor when a tensor to be
// quantized holds NaN or Inf (the model diverged; there is nothing meaningful to export) or its
// rows do not split into the format's groups.
QuantizedTensor quantize_tensor(std::string_view name, const HostTensor& t, const QuantPlan& plan = {});

// Quantizes every model parameter of `state_dict`, skipping optimizer state.
QuantizedModel quantize_model(const TensorMap& state_dict, const QuantPlan& plan);
inline QuantizedModel quantize_int8(const TensorMap& state_dict) { return quantize_model(state_dict, QuantPlan{}); }

HostTensor dequantize_tensor(const QuantizedTensor& t);
TensorMap dequantize(const QuantizedModel& model);

// Checks w is finite, naming the tensor and element otherwise.
void check_finite(std::string_view name, const std::vector<float>& w);

}  // namespace pg::io
