// The scale of one quantization unit (a row, or a group of a row) and its integer codes, by the
// clip rules of quant_format.h: the baseline's quantile rule, GPTQ-lite's clip search, SDClip and
// ternary absmean (pgolf-spec §3.7, §4.5).
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "frontend/export/quant_format.h"

namespace pg::io {

// torch.quantile's q for the baseline's clip (the Python float 99.99984 / 100 as a float32).
inline constexpr float kInt8ClipQuantile = static_cast<float>(99.99984 / 100.0);
// GPTQ-lite's candidate clip quantiles (spec §4.5), tried in this order; ties keep the first.
inline constexpr std::array<float, 5> kClipSearchQuantiles = {0.999f, 0.9995f, 0.9999f, 0.99999f, 1.0f};
// The least scale of the SDClip and absmean rules and of sub-8-bit quantile scales: it only keeps
// an all-zero (or, for SDClip, constant) unit from dividing by zero. The spec's SDClip says
// "fp16, >= 1e-10", but fp16 rounds 1e-10 to 0; 2^-24 is the least positive fp16 value.
inline constexpr float kMinScale = 0x1p-24f;

// torch.quantile(values, q) with linear interpolation, in fp32 exactly as torch computes it:
// rank = q * (n - 1) in fp32, then lerp between the order statistics at floor(rank) and ceil(rank)
// with torch's lerp formula. `values` must be non-empty and free of NaN.
float torch_quantile(std::vector<float> values, float q);

// Quantizes `w` (one unit) to codes in [-R, R] by `f`'s clip rule and returns the fp16 bits of its
// stored scale. Dequantization is q * fp16 scale. The quantile rule computes q with the fp32
// scale, as the baseline does; the other rules with the stored fp16 scale.
uint16_t quantize_unit(std::span<const float> w, const QuantFormat& f, std::span<int8_t> q);

}  // namespace pg::io
