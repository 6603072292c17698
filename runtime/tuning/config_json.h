// KernelConfig <-> JSON for the tuning database: one flat object per configuration,
//   {"kind": "cpu_loop", "threads": 1}        {"kind": "cpu_gemm", "row_blocks": 2}
//   {"kind": "cuda_loop", "min_split_extent": 32, "max_warp_extent": 4096, "min_warp_points": 1024,
//    "block_threads": 256, "vector_width": 4}
//   {"kind": "cuda_gemm", "mma": true, "tile_m": 128, "tile_n": 128, "tile_k": 32, "warps_m": 2,
//    "warps_n": 4, "stages": 2, "split_k": 1}   (split_k absent in older databases: 1)
#pragma once
#include <nlohmann/json.hpp>

#include "codegen/kernel_config.h"

namespace pg {

nlohmann::ordered_json config_to_json(const KernelConfig& c);
// Throws pg::Error naming what is wrong for an unknown kind, a missing or mistyped field, or a
// configuration that the code generators cannot render.
KernelConfig config_from_json(const nlohmann::ordered_json& j);

}  // namespace pg
