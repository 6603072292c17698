// The prelude that starts every generated CUDA translation unit: bf16/f16 conversions (PTX cvt,
// round-to-nearest-even), the reference's NaN-propagating max/min and relu, saturating float ->
// integer conversion, integer division that never traps, atomic adds on 8/16-bit elements (CAS on
// the enclosing 32-bit word), warp and block reductions, and aligned vector types for 16-byte
// loads. It includes no system header: NVRTC's built-in declarations (expf, __shfl_xor_sync,
// atomicAdd, ...) are all it relies on, so a compile needs nothing but libnvrtc.
#pragma once
#include <string>
#include <string_view>

namespace pg {

std::string_view cuda_prelude();

// SHA-256 of the prelude text (enters every CUDA kernel key).
const std::string& cuda_prelude_digest();

}  // namespace pg
