// Kernel configurations as JSON (see config_json.h).
#include "runtime/tuning/config_json.h"

#include "base/error.h"

namespace pg {
namespace {

using Json = nlohmann::ordered_json;

int field(const Json& j, const char* name) {
    PG_CHECK(j.contains(name) && j[name].is_number_integer(), "configuration {} lacks the integer field \"{}\"",
             j.dump(), name);
    return j[name].get<int>();
}

// A field that databases written before it existed lack: `fallback` then.
int optional_field(const Json& j, const char* name, int fallback) { return j.contains(name) ? field(j, name) : fallback; }

struct ToJson {
    Json operator()(std::monostate) const { return Json(nullptr); }
    Json operator()(const CpuLoopConfig& c) const {
        return {{"kind", "cpu_loop"}, {"threads", c.threads}, {"rows", c.rows}, {"inner", c.inner}};
    }
    Json operator()(const CpuGemmConfig& c) const { return {{"kind", "cpu_gemm"}, {"row_blocks", c.row_blocks}}; }
    Json operator()(const cuda::MappingConfig& c) const {
        return {{"kind", "cuda_loop"},          {"min_split_extent", c.min_split_extent},
                {"max_warp_extent", c.max_warp_extent}, {"min_warp_points", c.min_warp_points},
                {"block_threads", c.block_threads},     {"vector_width", c.vector_width}};
    }
    Json operator()(const gemm::GemmConfig& c) const {
        return {{"kind", "cuda_gemm"}, {"mma", c.kind == gemm::GemmKind::Mma},
                {"tile_m", c.tile_m},  {"tile_n", c.tile_n},
                {"tile_k", c.tile_k},  {"warps_m", c.warps_m},
                {"warps_n", c.warps_n}, {"stages", c.stages},
                {"split_k", c.split_k}};
    }
};

cuda::MappingConfig mapping_from_json(const Json& j) {
    cuda::MappingConfig c;
    c.min_split_extent = field(j, "min_split_extent");
    c.max_warp_extent = field(j, "max_warp_extent");
    c.min_warp_points = field(j, "min_warp_points");
    c.block_threads = field(j, "block_threads");
    c.vector_width = field(j, "vector_width");
    return c;
}

gemm::GemmConfig gemm_from_json(const Json& j) {
    PG_CHECK(j.contains("mma") && j["mma"].is_boolean(), "configuration {} lacks the boolean field \"mma\"", j.dump());
    gemm::GemmConfig c;
    c.kind = j["mma"].get<bool>() ? gemm::GemmKind::Mma : gemm::GemmKind::Simt;
    c.tile_m = field(j, "tile_m");
    c.tile_n = field(j, "tile_n");
    c.tile_k = field(j, "tile_k");
    c.warps_m = field(j, "warps_m");
    c.warps_n = field(j, "warps_n");
    c.stages = field(j, "stages");
    c.split_k = optional_field(j, "split_k", 1);
    return c;
}

// The generators' own checks, as a user error: the file, not pgolf, holds the bad value.
template <class T>
T renderable(T c) {
    try {
        c.validate();
    } catch (const InternalError& e) {
        throw Error(fmt::format("configuration cannot be rendered: {}", e.what()));
    }
    return c;
}

}  // namespace

Json config_to_json(const KernelConfig& c) { return std::visit(ToJson{}, c); }

KernelConfig config_from_json(const Json& j) {
    PG_CHECK(j.is_object() && j.contains("kind") && j["kind"].is_string(), "configuration {} has no \"kind\"", j.dump());
    std::string kind = j["kind"].get<std::string>();
    if (kind == "cpu_loop") {
        CpuLoopConfig c{field(j, "threads"), optional_field(j, "rows", 0), optional_field(j, "inner", 0)};
        PG_CHECK(c.threads >= 0 && c.rows >= 0 && c.inner >= 0, "cpu_loop {} has a negative field", j.dump());
        return c;
    }
    if (kind == "cpu_gemm") {
        int blocks = field(j, "row_blocks");
        PG_CHECK(blocks >= 0, "cpu_gemm row_blocks {} is negative", blocks);
        return CpuGemmConfig{blocks};
    }
    if (kind == "cuda_loop") return renderable(mapping_from_json(j));
    if (kind == "cuda_gemm") return renderable(gemm_from_json(j));
    throw Error(fmt::format("unknown configuration kind \"{}\" (cpu_loop, cpu_gemm, cuda_loop, cuda_gemm)", kind));
}

}  // namespace pg
