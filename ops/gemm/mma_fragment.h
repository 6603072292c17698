// The tensor-core product of one m16n8k16 fragment, and the row reductions of its accumulator, as
// CUDA source text, shared by the GEMM, linear cross-entropy and flash-attention templates (see
// mma_fragment.cpp).
#pragma once
#include <string_view>

namespace pg::gemm {

// mma16816(c, a, b): c[0..3] += the warp's m16n8k16 product of the A fragment a[0..3] and the B
// fragment b[0..1] (bf16 or f16 pairs per 32-bit word, f32 accumulators). The including source
// defines IS_BF16, THREADS and to_f32(pg_u16) before it.
std::string_view mma16816_cuda();

// quad_max(v) / quad_sum(v): the max / sum of v over the 4 lanes of a quad (lanes 4g..4g+3), the
// lanes that hold one row of an m16n8 accumulator (rows g and g + 8; see tile_access.cpp): the
// row statistics of the attention and cross-entropy templates' softmax.
std::string_view quad_reduce_cuda();

}  // namespace pg::gemm
