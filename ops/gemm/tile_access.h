// Shared-memory tiles of 16-bit elements for the tensor-core templates (the GEMM, flash
// attention), as CUDA source text: cp.async copies into XOR-swizzled tiles and ldmatrix reads of
// m16n8k16 fragments from them (see tile_access.cpp).
#pragma once
#include <string_view>

namespace pg::gemm {

// Defines, for the including source (which must define nothing of the same names):
//   smem_address(p) (GPU only), cp_async16(dst, src, src_bytes), cp_async_commit(),
//   cp_async_wait<N>(), ldmatrix<COUNT, TRANS>(r, row), swz<COLS>(r, x) and the fragment reads
//   a_frag<COLS> / a_frag_trans<COLS> / b_frags<COUNT, K_ROWS, COLS> (see tile_access.cpp).
// On the host compiler of the emulation tests cp.async and ldmatrix are the shim's
// (tests/cuda/cuda_host_shim.h), which count shared-memory bank conflicts.
std::string_view tile_access_cuda();

}  // namespace pg::gemm
