// The embedded CUDA prelude (see cuda_prelude.h). Semantics follow the LLVM renderer exactly:
// floats compute in f32 and bf16/f16 results are rounded after every op; integers live in 64 bits
// and wrap to their dtype; float -> integer conversion truncates and saturates (NaN -> 0).
#include "codegen/cuda/cuda_prelude.h"

#include "base/digest.h"

namespace pg {
namespace {

constexpr std::string_view kPrelude = R"CUDA(// ---- pgolf CUDA prelude v1 (no system headers) ----
typedef unsigned char pg_u8;
typedef unsigned short pg_u16;
typedef unsigned int pg_u32;
typedef long long pg_i64;
typedef unsigned long long pg_u64;

// bf16 / f16 storage is the raw 16 bits; values are computed as f32. Conversions round to nearest
// even (PTX cvt.rn). Without __CUDA_ARCH__ (the host compiler of the CPU emulation tests) the
// same conversions are written out bit by bit.
__device__ __forceinline__ float pg_bf16_to_f32(pg_u16 h) { return __uint_as_float(((pg_u32)h) << 16); }
#ifdef __CUDA_ARCH__
__device__ __forceinline__ pg_u16 pg_f32_to_bf16(float f) {
    pg_u16 h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
__device__ __forceinline__ float pg_f16_to_f32(pg_u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ pg_u16 pg_f32_to_f16(float f) {
    pg_u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
// Truncation toward zero, saturating at the i64 range, NaN -> 0.
__device__ __forceinline__ pg_i64 pg_f2i(float f) {
    pg_i64 r;
    asm("cvt.rzi.s64.f32 %0, %1;" : "=l"(r) : "f"(f));
    return r;
}
#else
__device__ __forceinline__ pg_u16 pg_f32_to_bf16(float f) {
    const pg_u32 x = __float_as_uint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (pg_u16)((x >> 16) | 0x40u);
    return (pg_u16)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float pg_f16_to_f32(pg_u16 h) {
    const pg_u32 sign = ((pg_u32)h & 0x8000u) << 16, e = ((pg_u32)h >> 10) & 0x1fu, m = (pg_u32)h & 0x3ffu;
    if (e == 31) return __uint_as_float(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        const float v = (float)m * 5.9604644775390625e-08f;  // m * 2^-24, exact
        return sign ? -v : v;
    }
    return __uint_as_float(sign | ((e + 112) << 23) | (m << 13));
}
// F. Giesen's float_to_half_fast3_rtne, as the LLVM renderer.
__device__ __forceinline__ pg_u16 pg_f32_to_f16(float f) {
    const pg_u32 x = __float_as_uint(f), sign = x & 0x80000000u, a = x ^ sign;
    pg_u32 h;
    if (a >= 0x47800000u) {
        h = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (a < 0x38800000u) {  // subnormal half: adding 0.5 aligns the mantissa, rounding RNE
        h = __float_as_uint(__uint_as_float(a) + 0.5f) - 0x3f000000u;
    } else {
        h = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;
    }
    return (pg_u16)(h | (sign >> 16));
}
__device__ __forceinline__ pg_i64 pg_f2i(float f) {
    if (f != f) return 0;
    if (f >= 9.2233720368547758e18f) return (pg_i64)0x7fffffffffffffffull;
    if (f <= -9.2233720368547758e18f) return (pg_i64)0x8000000000000000ull;
    return (pg_i64)f;
}
#endif
__device__ __forceinline__ float pg_round_bf16(float f) { return pg_bf16_to_f32(pg_f32_to_bf16(f)); }
__device__ __forceinline__ float pg_round_f16(float f) { return pg_f16_to_f32(pg_f32_to_f16(f)); }

// The reference's max/min: a NaN operand wins (isnan(a) || a > b ? a : b).
__device__ __forceinline__ float pg_fmax(float a, float b) { return (a != a || a > b) ? a : b; }
__device__ __forceinline__ float pg_fmin(float a, float b) { return (a != a || a < b) ? a : b; }
// relu(NaN) = NaN, relu(-0) = +0.
__device__ __forceinline__ float pg_relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }
template <class T> __device__ __forceinline__ T pg_imax(T a, T b) { return a > b ? a : b; }
template <class T> __device__ __forceinline__ T pg_imin(T a, T b) { return a < b ? a : b; }

// Integer division truncating toward zero; x / 0 = 0 and INT64_MIN / -1 wraps instead of trapping.
__device__ __forceinline__ pg_i64 pg_sdiv(pg_i64 a, pg_i64 b) {
    return b == 0 ? 0 : b == -1 ? (pg_i64)(0ull - (pg_u64)a) : a / b;
}

// Atomic read-modify-write of an 8/16-bit element through a CAS loop on its 32-bit word. Buffers
// are 64-byte aligned and arenas padded, so the word never leaves the allocation.
template <class F> __device__ __forceinline__ void pg_atomic_update16(pg_u16* p, F f) {
    pg_u32* w = (pg_u32*)((pg_u64)p & ~(pg_u64)3);
    const pg_u32 shift = (pg_u32)((pg_u64)p & 2) * 8u;
    pg_u32 old = *w, seen;
    do {
        seen = old;
        const pg_u32 h = f((pg_u16)(seen >> shift));
        old = atomicCAS(w, seen, (seen & ~(0xffffu << shift)) | ((h & 0xffffu) << shift));
    } while (old != seen);
}
template <class F> __device__ __forceinline__ void pg_atomic_update8(pg_u8* p, F f) {
    pg_u32* w = (pg_u32*)((pg_u64)p & ~(pg_u64)3);
    const pg_u32 shift = (pg_u32)((pg_u64)p & 3) * 8u;
    pg_u32 old = *w, seen;
    do {
        seen = old;
        const pg_u32 b = f((pg_u8)(seen >> shift));
        old = atomicCAS(w, seen, (seen & ~(0xffu << shift)) | ((b & 0xffu) << shift));
    } while (old != seen);
}
struct PgAddBf16 { float v; __device__ pg_u32 operator()(pg_u16 h) const { return pg_f32_to_bf16(pg_bf16_to_f32(h) + v); } };
struct PgAddF16 { float v; __device__ pg_u32 operator()(pg_u16 h) const { return pg_f32_to_f16(pg_f16_to_f32(h) + v); } };
struct PgAddInt { pg_i64 v; __device__ pg_u32 operator()(pg_u32 x) const { return (pg_u32)((pg_i64)x + v); } };
__device__ __forceinline__ void pg_atomic_add_bf16(pg_u16* p, float v) { pg_atomic_update16(p, PgAddBf16{v}); }
__device__ __forceinline__ void pg_atomic_add_f16(pg_u16* p, float v) { pg_atomic_update16(p, PgAddF16{v}); }
__device__ __forceinline__ void pg_atomic_add_u16(pg_u16* p, pg_i64 v) { pg_atomic_update16(p, PgAddInt{v}); }
__device__ __forceinline__ void pg_atomic_add_u8(pg_u8* p, pg_i64 v) { pg_atomic_update8(p, PgAddInt{v}); }

// Reductions across a warp or a block. Every thread returns the same value (lane 0's), so code
// after a reduction computes identically on all threads of the group.
struct PgSum {
    template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct PgMax {
    __device__ __forceinline__ float operator()(float a, float b) const { return pg_fmax(a, b); }
    __device__ __forceinline__ pg_i64 operator()(pg_i64 a, pg_i64 b) const { return a > b ? a : b; }
};
template <class T, class Op> __device__ __forceinline__ T pg_warp_reduce(T v, Op op) {
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return __shfl_sync(0xffffffffu, v, 0);
}
template <class T, class Op> __device__ __forceinline__ T pg_block_reduce(T v, Op op) {
    __shared__ T pg_scratch[32];
    v = pg_warp_reduce(v, op);
    __syncthreads();  // the previous reduction's readers are done with pg_scratch
    if ((threadIdx.x & 31u) == 0) pg_scratch[threadIdx.x >> 5] = v;
    __syncthreads();
    T r = pg_scratch[0];
    for (pg_u32 w = 1; w < (blockDim.x >> 5); ++w) r = op(r, pg_scratch[w]);
    return r;
}

// Aligned vectors for 16-byte loads and stores.
template <class T, int N> struct alignas(sizeof(T) * N) PgVec { T v[N]; };
template <class T, int N> __device__ __forceinline__ PgVec<T, N> pg_load_vec(const T* p) {
    return *reinterpret_cast<const PgVec<T, N>*>(p);
}
template <class T, int N> __device__ __forceinline__ void pg_store_vec(T* p, const PgVec<T, N>& v) {
    *reinterpret_cast<PgVec<T, N>*>(p) = v;
}
// ---- end of prelude ----
)CUDA";

}  // namespace

std::string_view cuda_prelude() { return kPrelude; }

const std::string& cuda_prelude_digest() {
    static const std::string digest = sha256_hex(kPrelude);
    return digest;
}

}  // namespace pg
