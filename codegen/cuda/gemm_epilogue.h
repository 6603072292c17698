// The CUDA text of a GEMM epilogue (ops/gemm/gemm_cuda.h, GemmEpilogue) from its kir
// (codegen/lower.h, lower_gemm_epilogue): the loop nest's vars are decomposed from the element's
// flat index, every load of buffer 0 (the product) becomes the element's value rounded to the
// product's dtype, exactly what the product's buffer would have held, and the body's lets and
// stores are written as the kir renderer writes them (cuda_expr.h's value semantics).
#pragma once
#include "codegen/kir.h"
#include "ops/gemm/gemm_cuda.h"

namespace pg::cuda {

// `k`: a perfect loop nest of lets and stores whose loads of buffer 0 are at the nest's own
// element (throws InternalError otherwise). `store_product`: whether the GEMM also stores C.
gemm::GemmEpilogue render_gemm_epilogue(const kir::Kernel& k, bool store_product);

}  // namespace pg::cuda
