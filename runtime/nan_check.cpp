// Non-finite scans and the PG_NAN_CHECK setting (see nan_check.h).
#include "runtime/nan_check.h"

#include <fmt/format.h>

#include <cmath>

#include "base/env.h"
#include "graph/shape.h"

namespace pg {

PG_KNOB({.name = "PG_NAN_CHECK", .kind = env::KnobKind::String, .default_value = "loss",
         .doc = "non-finite guard: off, loss (every step's loss), grad (also the global gradient norm), full "
                "(also every kernel output, naming the kernel; on CUDA the step then runs launch by launch)",
         .choices = {"off", "loss", "grad", "full"}});

NanCheck nan_check_mode() {
    std::string v = env::get("PG_NAN_CHECK");
    if (v == "off") return NanCheck::Off;
    if (v == "grad") return NanCheck::Grad;
    if (v == "full") return NanCheck::Full;
    return NanCheck::Loss;
}

namespace {

// An f32 is non-finite exactly when its exponent bits are all ones; the integer test vectorizes
// where std::isfinite on each element would not, and a full-check scan runs after every kernel.
int64_t first_non_finite_f32(const float* p, int64_t n) {
    const auto* bits = reinterpret_cast<const uint32_t*>(p);
    for (int64_t i = 0; i < n; ++i)
        if ((bits[i] & 0x7f800000u) == 0x7f800000u) return i;
    return -1;
}

// bf16 and f16 by their exponent fields (8 and 5 bits).
int64_t first_non_finite_16(const uint16_t* p, int64_t n, uint16_t exponent_mask) {
    for (int64_t i = 0; i < n; ++i)
        if ((p[i] & exponent_mask) == exponent_mask) return i;
    return -1;
}

}  // namespace

int64_t find_non_finite(const void* data, DType dtype, int64_t count) {
    switch (dtype) {
        case DType::f32: return first_non_finite_f32(static_cast<const float*>(data), count);
        case DType::bf16: return first_non_finite_16(static_cast<const uint16_t*>(data), count, 0x7f80);
        case DType::f16: return first_non_finite_16(static_cast<const uint16_t*>(data), count, 0x7c00);
        default: return -1;  // integers and booleans
    }
}

std::string non_finite_text(const void* data, DType dtype, int64_t index) {
    double v = load_as_double(static_cast<const uint8_t*>(data) + index * dtype_size(dtype), dtype);
    if (std::isnan(v)) return "nan";
    return v > 0 ? "inf" : "-inf";
}

void check_kernel_output(const std::string& kernel, const std::string& step, const void* data, DType dtype,
                         const Shape& shape) {
    int64_t bad = find_non_finite(data, dtype, numel(shape));
    if (bad < 0) return;
    throw NonFiniteError(kernel, fmt::format("kernel {} ({}) wrote {} at element {} of its {} {} output", kernel, step,
                                             non_finite_text(data, dtype, bad), bad, dtype_name(dtype), shape_str(shape)));
}

}  // namespace pg
