// Shared memory per thread block on each GPU architecture pgolf compiles for, and the check that
// a GEMM configuration's tiles fit it. A kernel may declare 48 KiB of static shared memory; more
// must be dynamic shared memory that the kernel opts in to at run time
// (cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), runtime/cuda/cuda_device.h),
// up to the architecture's opt-in limit.
#pragma once
#include <string>

#include "ops/gemm/gemm_problem.h"

namespace pg::gemm {

// Shared memory a block may declare without opting in.
constexpr int kStaticSharedBytes = 48 * 1024;

// The opt-in limit of shared memory per block for an arch name ("sm_90a", "sm_80"); 48 KiB for
// names the table does not know (always legal).
int shared_memory_optin_bytes(const std::string& arch);

// Throws pg::Error when the configuration's shared tiles exceed `arch`'s opt-in limit, naming the
// configuration, both sizes and what to do.
void check_shared_memory(const GemmConfig& c, const std::string& arch);

}  // namespace pg::gemm
