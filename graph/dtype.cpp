// DType helpers (see dtype.h).
#include "graph/dtype.h"

#include <cmath>
#include <bit>
#include <cstring>

#include "base/error.h"

namespace pg {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::bf16: return 2;
        case DType::f16: return 2;
        case DType::i64: return 8;
        case DType::i32: return 4;
        case DType::u16: return 2;
        case DType::u8: return 1;
        case DType::boolean: return 1;
    }
    PG_UNREACHABLE();
}

std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::bf16: return "bf16";
        case DType::f16: return "f16";
        case DType::i64: return "i64";
        case DType::i32: return "i32";
        case DType::u16: return "u16";
        case DType::u8: return "u8";
        case DType::boolean: return "bool";
    }
    PG_UNREACHABLE();
}

DType parse_dtype(std::string_view name) {
    for (DType t : {DType::f32, DType::bf16, DType::f16, DType::i64, DType::i32, DType::u16, DType::u8,
                    DType::boolean})
        if (dtype_name(t) == name) return t;
    throw Error(fmt::format("unknown dtype '{}': expected f32, bf16, f16, i64, i32, u16, u8 or bool", name));
}

bool is_float(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }
bool is_int(DType t) { return t == DType::i64 || t == DType::i32 || t == DType::u16 || t == DType::u8; }

uint16_t f32_to_bf16_bits(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (std::isnan(f)) return static_cast<uint16_t>((bits >> 16) | 0x40);
    uint32_t rounding = ((bits >> 16) & 1u) + 0x7fffu;
    return static_cast<uint16_t>((bits + rounding) >> 16);
}

float bf16_bits_to_f32(uint16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_f16_bits(float f) { return std::bit_cast<uint16_t>(static_cast<_Float16>(f)); }
float f16_bits_to_f32(uint16_t h) { return static_cast<float>(std::bit_cast<_Float16>(h)); }

double round_to_dtype(double v, DType t) {
    switch (t) {
        case DType::f32: return static_cast<double>(static_cast<float>(v));
        case DType::bf16: return bf16_bits_to_f32(f32_to_bf16_bits(static_cast<float>(v)));
        case DType::f16: return f16_bits_to_f32(f32_to_f16_bits(static_cast<float>(v)));
        case DType::i64: return static_cast<double>(static_cast<int64_t>(v));
        case DType::i32: return static_cast<double>(static_cast<int32_t>(static_cast<int64_t>(v)));
        case DType::u16: return static_cast<double>(static_cast<uint16_t>(static_cast<int64_t>(v)));
        case DType::u8: return static_cast<double>(static_cast<uint8_t>(static_cast<int64_t>(v)));
        case DType::boolean: return v != 0.0 ? 1.0 : 0.0;
    }
    PG_UNREACHABLE();
}

double load_as_double(const void* p, DType t) {
    switch (t) {
        case DType::f32: { float v; std::memcpy(&v, p, 4); return v; }
        case DType::bf16: { uint16_t v; std::memcpy(&v, p, 2); return bf16_bits_to_f32(v); }
        case DType::f16: { uint16_t v; std::memcpy(&v, p, 2); return f16_bits_to_f32(v); }
        case DType::i64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
        case DType::i32: { int32_t v; std::memcpy(&v, p, 4); return v; }
        case DType::u16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
        case DType::u8: { uint8_t v; std::memcpy(&v, p, 1); return v; }
        case DType::boolean: { uint8_t v; std::memcpy(&v, p, 1); return v != 0; }
    }
    PG_UNREACHABLE();
}

void store_from_double(void* p, DType t, double v) {
    switch (t) {
        case DType::f32: { float x = static_cast<float>(v); std::memcpy(p, &x, 4); return; }
        case DType::bf16: { uint16_t x = f32_to_bf16_bits(static_cast<float>(v)); std::memcpy(p, &x, 2); return; }
        case DType::f16: { uint16_t x = f32_to_f16_bits(static_cast<float>(v)); std::memcpy(p, &x, 2); return; }
        case DType::i64: { int64_t x = static_cast<int64_t>(v); std::memcpy(p, &x, 8); return; }
        case DType::i32: { int32_t x = static_cast<int32_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 4); return; }
        case DType::u16: { uint16_t x = static_cast<uint16_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 2); return; }
        case DType::u8: { uint8_t x = static_cast<uint8_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 1); return; }
        case DType::boolean: { uint8_t x = v != 0.0; std::memcpy(p, &x, 1); return; }
    }
    PG_UNREACHABLE();
}

}  // namespace pg
