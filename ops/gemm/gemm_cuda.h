// The CUDA GEMM template: one instance per (problem, config), fully specialised (extents, leading
// dimensions, transposes and batch offsets are compile-time constants). The instance source
// expects the CUDA prelude (codegen/cuda/cuda_prelude.h) before it, defines its helpers in the
// namespace <entry>_ns (so that instances compile side by side in one program), and
//   extern "C" __global__ void <entry>(T* C, const T* A, const T* B)
// with T = float (f32) or the raw 16 bits (bf16/f16). Grid: x over n tiles, y over m tiles, z over
// the batch; y and z are capped at 65535 and covered by grid-stride loops. With split_k > 1 both
// <entry> (z over batch x slices, partials to W) and <entry>_reduce (C = the sum of the slices)
// take (T* C, const T* A, const T* B, float* W), W a workspace of gemm_workspace_bytes. An
// epilogue (GemmEpilogue) adds its buffers' parameters after B and may drop C.
#pragma once
#include <array>
#include <string>

#include "ops/gemm/gemm_problem.h"

namespace pg::gemm {

// An elementwise epilogue of the product, as the code generator renders it
// (codegen/cuda/gemm_epilogue.h): `definitions` define, inside the instance's namespace,
//   struct Epilogue { ... };  // the pointers of the buffers it reads and writes
//   __device__ void epilogue(const Epilogue& ep, long long i, float v);
// which finishes element i of the product (flat over [batch, M, N], v its f32 value before
// rounding to T); `params` are the entry's parameters of those buffers (after A and B) and `init`
// the initializer list of an Epilogue from them.
struct GemmEpilogue {
    std::string definitions, params, init;
    bool store_product = true;  // false: no other kernel reads C; it is not written (no C parameter)
};

std::string gemm_cuda_source(const GemmProblem& p, const GemmConfig& c, const std::string& entry,
                             const GemmEpilogue* epilogue = nullptr);

std::array<int64_t, 3> gemm_grid(const GemmProblem& p, const GemmConfig& c);

// Split-K: the workspace (0 without split-K), and the reduction's grid of kReduceThreads blocks.
constexpr int kReduceThreads = 256;
int64_t gemm_workspace_bytes(const GemmProblem& p, const GemmConfig& c);
std::array<int64_t, 3> gemm_reduce_grid(const GemmProblem& p);

}  // namespace pg::gemm
