// Static global-memory coalescing of a kir kernel under its CUDA mapping (cuda_mapping.h): for
// every load and store, the 32-byte sectors one warp-wide request touches, from the distance
// between neighbouring lanes' elements, and per buffer the bytes the lanes ask for against the
// sector bytes moved. It is what the host emulation measures (tests/cuda/cuda_emulator.h,
// global_sectors), without running anything, so that the performance model can charge strided
// kernels their wasted sectors.
//
// Lanes: in thread mode neighbouring lanes run neighbouring points, the innermost point loop
// advancing by the vector width; in warp and block mode the lanes split a reduction loop, its
// innermost loop advancing by one, and statements outside the split run with one index for the
// whole group (one broadcast request). The lane stride of an index is its value at the lane
// variable's middle value plus the step, minus its value there, every other loop variable at its
// middle: exact for affine indices, the common case for reshaped ones (i / n, i % n). Indices
// that depend on loaded values (gathers) count as coalesced. Accesses are taken as 32-byte
// aligned at lane 0.
#pragma once
#include <vector>

#include "codegen/cuda/cuda_mapping.h"
#include "codegen/kir.h"

namespace pg::cuda {

struct BufferTraffic {
    double requested = 0;     // bytes the lanes ask for, over the whole launch
    double sector_bytes = 0;  // 32 x the sectors their warp-wide requests touch
    // Sector bytes moved per byte asked for, at least 1 (a broadcast moves fewer bytes than its
    // lanes ask for, but the model already counts each buffer once).
    double inflation() const { return requested > 0 && sector_bytes > requested ? sector_bytes / requested : 1.0; }
};

// Per buffer of `k` (its buffer order), mapped with `config`.
std::vector<BufferTraffic> buffer_traffic(const kir::Kernel& k, const MappingConfig& config);

// The sectors one warp of 32 lanes touches when lane l accesses bytes [l * stride, l * stride +
// bytes) from a 32-byte-aligned start.
int warp_sectors(int64_t stride_bytes, int64_t bytes);

}  // namespace pg::cuda
