// The graph pass pipeline run before scheduling: a literal, named list. PG_DUMP=<regex> prints
// the graph after every pass whose name matches (to PG_DUMP_DIR/<pass>.graph when that is set,
// else to stderr).
#pragma once
#include <vector>

#include "graph/graph.h"

namespace pg {

// The attention nodes (Attention, AttentionLse, AttentionGrad) a target runs as flash-attention
// templates (ops/attention): those of q's dtype in `dtypes` and, when head_dims is not empty, of a
// listed head dim. The others decompose into the reference expansion ([T, T] scores).
struct AttentionTemplates {
    std::vector<DType> dtypes;  // empty: no template, every attention decomposes
    std::vector<int64_t> head_dims;
    bool serves(const Graph& g, const Node& n) const;
};

// The linear cross-entropy nodes (LinearCrossEntropy and its gradient) a target runs as tiled
// templates (ops/cross_entropy): those of x's dtype in `dtypes` whose model dim is a multiple of
// `dim_multiple`. The others decompose into the head matmul and the cross-entropy ([N, V] logits).
struct LinearCeTemplates {
    std::vector<DType> dtypes;  // empty: no template
    int64_t dim_multiple = 1;
    bool serves(const Graph& g, const Node& n) const;
};

struct PassOptions {
    // CPU: bf16/f16 matmuls become f32 matmuls of the widened operands, rounded once at the end,
    // so that they run on OpenBLAS or the vectorized generated kernel (see widen_matmuls).
    bool widen_low_precision_matmuls = false;
    // GPU: sums over many leading rows in stages whose threads read neighbouring columns (see
    // split_outer_reductions).
    bool split_outer_reductions = false;
    AttentionTemplates attention;
    LinearCeTemplates linear_ce;
};

// verify -> decompose (but the attention and linear cross-entropy templates) ->
// transpose_products -> simplify -> split_reductions -> widen_scatters [-> split_outer_reductions]
// [-> widen_matmuls], verifying after every pass
Graph run_passes(const Graph& g, const PassOptions& opts = {});

// matmul(a, b) in bf16/f16 -> cast(matmul(cast(a, f32), cast(b, f32)), dtype): the products and
// their sum are exact or f32-rounded either way, and the result is rounded to dtype once, which is
// the reference semantics (f64 accumulation, one rounding) up to f32 summation error.
Graph widen_matmuls(const Graph& g);

// scatter_add(index, src) in bf16/f16 -> cast(scatter_add(index, cast(src, f32)), dtype): the sums
// accumulate in an f32 buffer and are rounded to dtype once, which is the reference semantics (f64
// accumulation, one rounding) up to f32 summation error. Accumulating in the 16-bit buffer itself
// rounds after every add: an embedding row that receives n tokens' gradients loses up to n/2 ulps
// (with 8 significant bits, a row sum of 256 terms of ~1 stalls once its ulp reaches 2), and on
// CUDA each add would be a compare-and-swap loop on the 32-bit word around the 16-bit element.
// The embedding gradient of a bf16 tok_emb is such a scatter (the rule of Gather).
Graph widen_scatters(const Graph& g);

// transpose(a b) -> b^T a^T where the product's only reader is that transpose of its last two axes
// (the weight gradient of x W^T is (x^T dy)^T): the product is then computed in the layout its
// reader wants, so the gradient accumulation reads it at its own element (contiguously, and on the
// GPU inside the GEMM's epilogue) instead of transposed. Every element is the same sum of the same
// products. simplify, after it, folds the operands' double transposes.
Graph transpose_products(const Graph& g);

// Algebraic clean-up of a primitive graph: x*1, x+0, x-0, x/1, neg(neg x), permute(permute x),
// cast to the same type. (Common subexpressions already collapse by interning.)
Graph simplify(const Graph& g);

// Splits a reduction whose reduced axes are separated by a kept axis into a reduction over the
// trailing (contiguous) block and one over the rest, e.g. sum over {0,1,3} of [B,T,H,D] becomes
// sum over {3} then over {0,1}: the first reads rows contiguously, the second is an outer
// reduction with its own row-accumulating kernel (codegen/schedule.h). Same values up to
// summation order.
Graph split_reductions(const Graph& g);

// GPU: a float sum over the leading axes of its input, viewed as [R, C] with R > 1024 rows (e.g.
// the gradient of a per-channel scale, [B, T, d] -> [1, 1, d]), becomes sums of 16-row slices, in
// f32, repeated while more than 1024 rows remain, then one sum of the last partial rows, rounded
// once to the sum's dtype. As one reduction, a block (or warp) per column has its lanes read
// elements a row apart: each 32-byte sector serves 4 of them, 0.125 of the bytes it moves (the
// emulator's sector counts, tests/cuda/test_cuda_sectors.cpp); a 16-row slice is summed serially
// by one thread (16 < MappingConfig::min_split_extent), the lanes of a warp on neighbouring
// columns. Same values up to summation order; each stage reads 1/16 of the previous one's bytes.
Graph split_outer_reductions(const Graph& g);

}  // namespace pg
