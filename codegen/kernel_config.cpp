// Kernel configuration text (see kernel_config.h).
#include "codegen/kernel_config.h"

#include <fmt/format.h>

namespace pg {

std::string config_string(const KernelConfig& c) {
    struct Visitor {
        std::string operator()(std::monostate) const { return ""; }
        std::string operator()(const CpuLoopConfig& l) const {
            std::string s;
            if (l.threads != 0) s = fmt::format("threads={}", l.threads);
            if (l.rows != 0 || l.inner != 0) s += fmt::format("{}rows={} inner={}", s.empty() ? "" : " ", l.rows, l.inner);
            return s.empty() ? "heuristic" : s;
        }
        std::string operator()(const CpuGemmConfig& g) const {
            return g.row_blocks == 0 ? "heuristic" : fmt::format("row_blocks={}", g.row_blocks);
        }
        std::string operator()(const cuda::MappingConfig& m) const { return m.to_string(); }
        std::string operator()(const gemm::GemmConfig& g) const { return g.to_string(); }
    };
    return std::visit(Visitor{}, c);
}

}  // namespace pg
