// The tensor-core product of one m16n8k16 fragment as CUDA source text, shared by the GEMM and the
// linear cross-entropy templates (see mma_fragment.cpp).
#pragma once
#include <string_view>

namespace pg::gemm {

// mma16816(c, a, b): c[0..3] += the warp's m16n8k16 product of the A fragment a[0..3] and the B
// fragment b[0..1] (bf16 or f16 pairs per 32-bit word, f32 accumulators). The including source
// defines IS_BF16, THREADS and to_f32(pg_u16) before it.
std::string_view mma16816_cuda();

}  // namespace pg::gemm
