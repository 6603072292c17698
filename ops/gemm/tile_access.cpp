// cp.async, ldmatrix and the swizzled shared tiles they address (see tile_access.h).
//
// A tile is ROWS x COLS 16-bit elements, row-major, COLS a multiple of 8. Shared-memory banks: 32
// of 4 bytes; a 16-byte access per lane is served in quarter-warp phases, an 8x8 ldmatrix matrix
// is one phase of 8 rows x 16 bytes. Chunk c (8 elements) of tile row r is stored at chunk
// c ^ ((r / RPL) % SPAN), RPL = rows per 128-byte line (8 / chunks per row, at least 1), SPAN =
// min(8, chunks per row). Then the 8 rows an ldmatrix phase reads at one logical chunk, and the 8
// chunks a cp.async phase writes, fall in 8 distinct 16-byte bank groups: no conflicts, which the
// emulation tests count (tests/cuda/cuda_host_shim.h).
//
// mma.sync.m16n8k16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point
// type"), with g = lane / 4 and t = lane % 4:
//   A (16 x 16, row): reg0 = (g, 2t..2t+1), reg1 = (g+8, 2t..), reg2 = (g, 2t+8..), reg3 = (g+8, 2t+8..)
//   B (16 x 8, col):  reg0 = (k 2t..2t+1, n g), reg1 = (k 2t+8.., n g)
//   C (16 x 8, f32):  c0,c1 = (g, 2t..2t+1), c2,c3 = (g+8, 2t..2t+1)
// ldmatrix (non-trans) hands lane l the 32-bit word at row l / 4, elements 2(l % 4)..+1 of each
// 8x8 matrix; .trans hands it elements (2(l % 4), l / 4) and (2(l % 4) + 1, l / 4): the A and B
// registers above from either memory order.
#include "ops/gemm/tile_access.h"

namespace pg::gemm {

namespace {

constexpr std::string_view kTileAccess = R"CUDA(
#ifdef __CUDA_ARCH__
// The compiler's own conversion (not inline cvta asm): it folds the generic -> shared arithmetic
// of the dynamic shared-memory tiles into 32-bit offsets; with the asm the 64 x 64 GEMM instance
// needed 96 registers and spilled 28 bytes (ptxas, sm_90a).
__device__ __forceinline__ pg_u32 smem_address(const void* p) { return (pg_u32)__cvta_generic_to_shared(p); }
#endif

// 16 bytes from global to shared memory without a register round trip; src_bytes 0 zero-fills.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_address(dst)), "l"(src), "r"(src_bytes));
#else
    pg_emu_cp_async16(dst, src, src_bytes);
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.commit_group;");
#else
    pg_emu_cp_async_commit();
#endif
}
// Waits until at most N of this thread's committed copy groups are still in flight.
template <int N> __device__ __forceinline__ void cp_async_wait() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.wait_group %0;" ::"n"(N));
#else
    pg_emu_cp_async_wait(N);
#endif
}

// COUNT 8x8 b16 matrices from shared memory, lanes 8q..8q+7 giving the rows of matrix q; TRANS
// delivers each matrix transposed.
template <int COUNT, bool TRANS> __device__ __forceinline__ void ldmatrix(pg_u32* r, const pg_u16* row) {
#ifdef __CUDA_ARCH__
    if (COUNT == 4 && !TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(row)));
    if (COUNT == 4 && TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(row)));
    if (COUNT == 2 && !TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(smem_address(row)));
    if (COUNT == 2 && TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];"
                     : "=r"(r[0]), "=r"(r[1]) : "r"(smem_address(row)));
#else
    pg_emu_ldmatrix(r, row, COUNT, TRANS);
#endif
}

// Element offset of (row r, column x) in a shared tile of COLS columns whose 16-byte chunks are
// XOR-swizzled (see the file comment): chunk c of row r is stored at c ^ ((r / RPL) % SPAN).
template <int COLS> __device__ __forceinline__ int swz(int r, int x) {
    constexpr int CPR = COLS / 8;                          // chunks per row
    constexpr int SPAN = (CPR & -CPR) < 8 ? (CPR & -CPR) : 8;  // XOR stays inside the row
    constexpr int RPL = CPR >= 8 ? 1 : 8 / CPR;            // rows per 128-byte line
    return r * COLS + ((((x >> 3) ^ ((r / RPL) % SPAN))) << 3) + (x & 7);
}

// The A fragment (m16 x k16: rows i0.., k k0..) of a k-contiguous tile (rows = m), as stored.
// Lane l addresses row l % 16 at k half l / 16.
template <int COLS> __device__ __forceinline__ void a_frag(pg_u32* a, const pg_u16* tile, int i0, int k0) {
    const int lane = (int)threadIdx.x & 31;
    ldmatrix<4, false>(a, tile + swz<COLS>(i0 + (lane & 15), k0 + (lane >> 4) * 8));
}

// The A fragment of an m-contiguous tile (rows = k), transposed. Lane l addresses row l % 8 of
// matrix l / 8.
template <int COLS> __device__ __forceinline__ void a_frag_trans(pg_u32* a, const pg_u16* tile, int i0, int k0) {
    const int lane = (int)threadIdx.x & 31, q = lane >> 3, j = lane & 7;
    ldmatrix<4, true>(a, tile + swz<COLS>(k0 + (q >> 1) * 8 + j, i0 + (q & 1) * 8));
}

// The B fragments of COUNT / 2 n8 blocks from n0 (k k0..): b[0..1] the first, b[2..3] the second.
// K_ROWS: the tile's rows are k (n-contiguous, read transposed); else its rows are n
// (k-contiguous, read as stored).
template <int COUNT, bool K_ROWS, int COLS> __device__ __forceinline__ void b_frags(pg_u32* b, const pg_u16* tile, int n0, int k0) {
    const int lane = (int)threadIdx.x & 31, q = COUNT == 4 ? lane >> 3 : (lane >> 3) & 1, j = lane & 7;
    if (K_ROWS) ldmatrix<COUNT, true>(b, tile + swz<COLS>(k0 + (q & 1) * 8 + j, n0 + (q >> 1) * 8));
    else ldmatrix<COUNT, false>(b, tile + swz<COLS>(n0 + (q >> 1) * 8 + j, k0 + (q & 1) * 8));
}
)CUDA";

}  // namespace

std::string_view tile_access_cuda() { return kTileAccess; }

}  // namespace pg::gemm
