// BLAS matmul step (see blas.h).
#include "runtime/blas.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "base/error.h"
#include "base/thread_pool.h"
#include "base/determinism.h"
#include "graph/shape.h"

extern "C" void openblas_set_num_threads(int);

namespace pg {

void blas_init() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

BlasMatmul make_blas_matmul(const gemm::GemmProblem& p, void* c, void* a, void* b) {
    PG_ASSERT(p.dtype == DType::f32, "OpenBLAS GEMM step in {} (the CPU target widens bf16/f16 matmuls)",
              dtype_name(p.dtype));
    BlasMatmul mm;
    mm.m = p.m;
    mm.n = p.n;
    mm.k = p.k;
    mm.trans_a = p.trans_a;
    mm.trans_b = p.trans_b;
    mm.lda = p.lda;
    mm.ldb = p.ldb;
    mm.a_offsets = gemm::batch_offsets(p.batch_shape, p.a_batch_strides, p.a_offset);
    mm.b_offsets = gemm::batch_offsets(p.batch_shape, p.b_batch_strides, p.b_offset);
    // C is contiguous: its batch strides are those of [batch..., m, n].
    Shape c_shape = p.batch_shape;
    c_shape.push_back(p.m);
    c_shape.push_back(p.n);
    std::vector<int64_t> c_strides = contiguous_strides(c_shape);
    c_strides.resize(p.batch_shape.size());
    mm.c_offsets = gemm::batch_offsets(p.batch_shape, c_strides, 0);
    mm.a = static_cast<const float*>(a);
    mm.b = static_cast<const float*>(b);
    mm.c = static_cast<float*>(c);
    mm.deterministic = deterministic_mode();
    return mm;
}

namespace {

// Under PG_DETERMINISTIC=1 row blocks do not follow the thread count (nor a tuned config): always
// blocks of at most 64 rows (above the 16 that keep an sgemm call at full speed), so every product
// is cut the same way at any PG_THREADS.
constexpr int64_t kDeterministicBlockRows = 64;

// Row blocks of at least 16 rows keep each sgemm call large enough to reach full speed; with
// fewer batches than threads, rows are split so that every core gets work.
int64_t heuristic_row_blocks(int64_t batches, int64_t threads, int64_t m) {
    return batches >= threads ? 1 : std::max<int64_t>(1, std::min<int64_t>((threads + batches - 1) / batches, m / 16));
}

// Row blocks per batch: fixed under PG_DETERMINISTIC, else the tuned count or the heuristic.
int64_t row_blocks(const BlasMatmul& mm, int64_t batches, int64_t threads) {
    if (mm.deterministic) return std::max<int64_t>(1, (mm.m + kDeterministicBlockRows - 1) / kDeterministicBlockRows);
    if (mm.row_blocks > 0) return std::min<int64_t>(mm.row_blocks, mm.m);
    return heuristic_row_blocks(batches, threads, mm.m);
}

}  // namespace

void run_blas(const BlasMatmul& mm) {
    ThreadPool& pool = ThreadPool::global();
    const int64_t batches = static_cast<int64_t>(mm.c_offsets.size());
    const int64_t blocks_per_batch = row_blocks(mm, batches, pool.num_threads());
    const int64_t rows_per_block = (mm.m + blocks_per_batch - 1) / blocks_per_batch;
    pool.parallel_for(0, batches * blocks_per_batch, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            int64_t batch = t / blocks_per_batch, block = t % blocks_per_batch;
            int64_t row0 = block * rows_per_block;
            int64_t rows = std::min(rows_per_block, mm.m - row0);
            if (rows <= 0) continue;
            // Row r of op(A) starts at r*lda (no transpose) or at column r (transpose).
            const float* a = mm.a + mm.a_offsets[batch] + (mm.trans_a ? row0 : row0 * mm.lda);
            cblas_sgemm(CblasRowMajor, mm.trans_a ? CblasTrans : CblasNoTrans, mm.trans_b ? CblasTrans : CblasNoTrans,
                        static_cast<int>(rows), static_cast<int>(mm.n), static_cast<int>(mm.k), 1.0f, a,
                        static_cast<int>(mm.lda), mm.b + mm.b_offsets[batch], static_cast<int>(mm.ldb), 0.0f,
                        mm.c + mm.c_offsets[batch] + row0 * mm.n, static_cast<int>(mm.n));
        }
    });
}

}  // namespace pg
