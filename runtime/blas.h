// OpenBLAS sgemm over strided views: one batched matmul step of an execution plan. Our thread
// pool splits the batch and row blocks across cores with OpenBLAS itself single-threaded, so that
// the two never oversubscribe the machine.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/gemm/gemm_problem.h"

namespace pg {

struct BlasMatmul {
    int64_t m = 0, n = 0, k = 0;
    bool trans_a = false, trans_b = false;
    int64_t lda = 0, ldb = 0;
    // Element offsets of each batch's A, B and C.
    std::vector<int64_t> a_offsets, b_offsets, c_offsets;
    const float* a = nullptr;
    const float* b = nullptr;
    float* c = nullptr;
    bool deterministic = false;  // PG_DETERMINISTIC: row blocks independent of the thread count
    int row_blocks = 0;  // per batch; 0: the heuristic (CpuGemmConfig, codegen/kernel_config.h)
};

// The sgemm calls of an f32 GEMM step over buffers c (contiguous), a and b (the operands' bases).
BlasMatmul make_blas_matmul(const gemm::GemmProblem& p, void* c, void* a, void* b);

// Sets OpenBLAS to one thread (called once before any plan runs).
void blas_init();

void run_blas(const BlasMatmul& mm);

}  // namespace pg
