// The m16n8k16 tensor-core product (see mma_fragment.h): mma.sync on a GPU; on the host compiler
// of the CPU emulation tests the same product computed from the PTX ISA's fragment layout
// ("Matrix Fragments for mma.m16n8k16 with floating point type"), the warp's registers exchanged
// through shared memory.
#include "ops/gemm/mma_fragment.h"

namespace pg::gemm {

namespace {

constexpr std::string_view kMma16816 = R"CUDA(
__device__ __forceinline__ void mma16816(float* c, const pg_u32* a, const pg_u32* b) {
#ifdef __CUDA_ARCH__
    if (IS_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    // The host compiler of the CPU emulation tests: the same product from the documented fragment
    // layout, the warp's registers exchanged through shared memory.
    __shared__ pg_u32 frag_a[THREADS][4], frag_b[THREADS][2];
    const int lane = (int)threadIdx.x & 31, base = (int)threadIdx.x - lane, g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) frag_a[threadIdx.x][i] = a[i];
    for (int i = 0; i < 2; ++i) frag_b[threadIdx.x][i] = b[i];
    __syncwarp();
    for (int out = 0; out < 4; ++out) {
        const int row = g + (out >= 2 ? 8 : 0), col = 2 * t + (out & 1);
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k) {
            const pg_u32 ar = frag_a[base + (row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)];
            const pg_u32 br = frag_b[base + col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0];
            const pg_u16 ah = (pg_u16)(ar >> (16 * (k & 1))), bh = (pg_u16)(br >> (16 * (k & 1)));
            sum += to_f32(ah) * to_f32(bh);
        }
        c[out] += sum;
    }
    __syncwarp();
#endif
}
)CUDA";

constexpr std::string_view kQuadReduce = R"CUDA(
__device__ __forceinline__ float quad_max(float v) {
    v = pg_fmax(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return pg_fmax(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}
)CUDA";

}  // namespace

std::string_view mma16816_cuda() { return kMma16816; }

std::string_view quad_reduce_cuda() { return kQuadReduce; }

}  // namespace pg::gemm
