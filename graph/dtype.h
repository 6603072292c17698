// Element types of graph values, their sizes and names, and rounding of fp64 values to them
// (the reference interpreter computes in fp64 and rounds every node's result to its dtype).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pg {

enum class DType : uint8_t { f32, bf16, f16, i64, i32, u16, u8, boolean };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
DType parse_dtype(std::string_view name);  // throws pg::Error on an unknown name
bool is_float(DType t);
bool is_int(DType t);  // integer types, not bool

// The value `v` would have once stored as `t` (round-to-nearest-even for floats, truncation toward
// zero with wrap-around for integers as C++ casts do, v != 0 for bool).
double round_to_dtype(double v, DType t);

// Bit-level conversions used by buffers and by the CPU renderer's tests.
uint16_t f32_to_bf16_bits(float f);
float bf16_bits_to_f32(uint16_t b);
uint16_t f32_to_f16_bits(float f);
float f16_bits_to_f32(uint16_t h);

// Reads/writes one element of type t at p as a double.
double load_as_double(const void* p, DType t);
void store_from_double(void* p, DType t, double v);

}  // namespace pg
