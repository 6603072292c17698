// CUDA search spaces and their pruning by NVRTC results (see cuda_prune.h).
#include "runtime/tuning/cuda_prune.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "ops/gemm/shared_memory.h"
#include "runtime/cuda/nvrtc_compiler.h"

namespace pg {
namespace {

// 65536 registers per SM / 2 blocks of 256 threads = 128 per thread: a kernel above that keeps
// fewer than two 256-thread blocks resident and hides memory latency badly; scaled by block size.
constexpr int kRegistersPerSm = 65536;
constexpr int kMinResidentBlocks = 2;

std::vector<KernelConfig> gemm_space(const PlanStep& st) {
    const gemm::GemmConfig heuristic = std::get<gemm::GemmConfig>(st.config);
    const bool mma = heuristic.kind == gemm::GemmKind::Mma;
    std::vector<KernelConfig> out{heuristic};
    for (int tm : {64, 128})
        for (int tn : {64, 128})
            for (int tk : mma ? std::vector<int>{32, 64} : std::vector<int>{8, 16})
                for (auto [wm, wn] : mma ? std::vector<std::pair<int, int>>{{2, 4}, {4, 2}, {2, 2}}
                                         : std::vector<std::pair<int, int>>{{2, 4}})
                    for (int stages : mma ? std::vector<int>{2, 3, 4} : std::vector<int>{1, 2}) {
                        gemm::GemmConfig c{heuristic.kind, tm, tn, tk, wm, wn, stages, heuristic.split_k};
                        try {
                            c.validate();
                        } catch (const InternalError&) {
                            continue;  // not a shape the template can split
                        }
                        if (!(c == heuristic)) out.push_back(c);
                    }
    // Split-K: the heuristic's tiles with 1 to 16 slices, each slice at least one k-tile.
    for (int split = 1; split <= gemm::kMaxSplitK; split *= 2) {
        gemm::GemmConfig c = heuristic;
        c.split_k = split;
        if (!(c == heuristic) && split <= (st.gemm->k + c.tile_k - 1) / c.tile_k) out.push_back(c);
    }
    return out;
}

std::vector<KernelConfig> mapping_space() {
    const cuda::MappingConfig heuristic;
    std::vector<KernelConfig> out{heuristic};
    for (int block : {128, 256, 512})
        for (int width : {1, 4})
            for (int64_t warp_points : {256, 1024, 4096}) {
                cuda::MappingConfig c;
                c.block_threads = block;
                c.vector_width = width;
                c.min_warp_points = warp_points;
                if (!(c == heuristic)) out.push_back(c);
            }
    return out;
}

// Why a compiled candidate is pruned, or "" to keep it. Shared memory: static (the compile's
// report) plus the launch's dynamic bytes, against the arch's opt-in limit.
std::string limits_broken(const CudaKernelSource& src, const CudaKernelReport& report, const std::string& arch,
                          CudaCandidate& c) {
    for (size_t e = 0; e < report.entries.size(); ++e) {
        const CudaEntryReport& r = report.entries[e];
        const CudaLaunch& launch = src.launches[std::min(e, src.launches.size() - 1)];
        const int threads = launch.block, shared = r.shared_bytes + launch.smem;
        c.registers = std::max(c.registers, r.registers);
        c.spill_bytes += r.spill_stores + r.spill_loads;
        c.shared_bytes = std::max(c.shared_bytes, shared);
        if (r.spill_stores + r.spill_loads > 0) return fmt::format("spills {} B", r.spill_stores + r.spill_loads);
        if (r.registers * threads * kMinResidentBlocks > kRegistersPerSm)
            return fmt::format("registers {} x {} threads", r.registers, threads);
        if (shared > gemm::shared_memory_optin_bytes(arch))
            return fmt::format("shared memory {} B > {} B on {}", shared, gemm::shared_memory_optin_bytes(arch), arch);
    }
    return "";
}

}  // namespace

std::vector<KernelConfig> cuda_search_space(const PlanStep& st) {
    if (st.kind == PlanStep::Kind::Gemm) return gemm_space(st);
    if (st.kind == PlanStep::Kind::Kernel) return mapping_space();
    return {};
}

std::vector<CudaCandidate> prune_by_compile(const PlanStep& st, const std::vector<KernelConfig>& space,
                                            const std::string& arch) {
    std::vector<CudaCandidate> out;
    // Equal mappings are one kernel (a non-default configuration only renames its entries): judged once.
    std::map<std::string, size_t> by_mapping;
    for (const KernelConfig& config : space) {
        CudaCandidate c{config};
        CudaKernelSource src = render_cuda_step(st, config);
        if (auto same = by_mapping.find(src.mapping); same != by_mapping.end()) {
            c = out[same->second];
            c.config = config;
            c.kept = false;
            c.why = "same kernel as an earlier candidate";
            out.push_back(c);
            continue;
        }
        by_mapping[src.mapping] = out.size();
        try {
            std::unique_ptr<CudaProgram> p = CudaProgram::compile({src}, {arch, true});
            c.why = limits_broken(src, p->report(0), arch, c);
        } catch (const std::exception& e) {
            c.why = fmt::format("nvrtc: {}", std::string(e.what()).substr(0, 120));
        }
        c.kept = c.why.empty();
        if (c.kept) c.why = "kept";
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace pg
