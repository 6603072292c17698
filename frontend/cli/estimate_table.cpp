// Estimate and memory-plan tables for `pgolf compile` (see estimate_table.h).
#include "frontend/cli/estimate_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <vector>

namespace pg::cli {

std::string memory_plan_line(const ExecPlan& plan) {
    int64_t params = 0, inputs = 0, largest_bytes = 0;
    for (const PlanLeaf& l : plan.leaves) (l.role == LeafRole::Param ? params : inputs) += l.bytes();
    NodeId largest = kNoNode;  // the largest arena buffer: shows whether any [T, T] scores remain
    for (NodeId i = 0; i < plan.graph.size(); ++i) {
        const Node& n = plan.graph[i];
        int64_t bytes = numel(n.shape) * static_cast<int64_t>(dtype_size(n.dtype));
        if (plan.arena_offset[static_cast<size_t>(i)] < 0 || bytes <= largest_bytes) continue;
        largest = i;
        largest_bytes = bytes;
    }
    std::string biggest = largest == kNoNode ? "none"
                                             : fmt::format("{} B ({} {} {})", largest_bytes, op_name(plan.graph[largest].op),
                                                           dtype_name(plan.graph[largest].dtype), shape_str(plan.graph[largest].shape));
    return fmt::format("memory plan: arena {} B ({:.2f} MiB), unshared {} B ({:.2f} MiB); params {} B, inputs {} B; "
                       "largest buffer {}",
                       plan.arena_bytes, plan.arena_bytes / 1048576.0, plan.naive_bytes, plan.naive_bytes / 1048576.0,
                       params, inputs, biggest);
}

void print_estimate(const std::string& graph_name, const StepEstimate& e, int top) {
    std::vector<size_t> order(e.kernels.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return e.kernels[a].seconds > e.kernels[b].seconds; });
    fmt::print("\n{} on {}: top {} of {} steps by estimated time\n", graph_name, e.gpu,
               std::min<size_t>(static_cast<size_t>(top), order.size()), order.size());
    fmt::print("{:<22} {:<7} {:>10} {:>10} {:>10} {:>7} {:>10} {:>6} {:>7}\n", "kernel", "kind", "TC GFLOP", "SIMT GFLOP",
               "MB", "sectors", "est us", "bound", "share");
    for (size_t r = 0; r < order.size() && r < static_cast<size_t>(top); ++r) {
        const KernelEstimate& k = e.kernels[order[r]];
        fmt::print("{:<22} {:<7} {:>10.3f} {:>10.3f} {:>10.2f} {:>7.2f} {:>10.1f} {:>6} {:>6.1f}%\n", k.name, k.kind,
                   k.work.tensor_flops / 1e9, k.work.simt_flops() / 1e9, k.work.bytes / 1e6, k.work.sector_efficiency,
                   k.seconds * 1e6, k.memory_bound() ? "mem" : "comp", e.seconds > 0 ? 100 * k.seconds / e.seconds : 0.0);
    }
    std::map<std::string, std::pair<int, double>> by_kind;  // kind -> steps, seconds
    for (const KernelEstimate& k : e.kernels) {
        by_kind[k.kind].first += 1;
        by_kind[k.kind].second += k.seconds;
    }
    std::string kinds;
    for (const auto& [kind, v] : by_kind)
        kinds += fmt::format("{}{} {:.3f} ms ({} steps, {:.1f}%)", kinds.empty() ? "" : ", ", kind, v.second * 1e3,
                             v.first, e.seconds > 0 ? 100 * v.second / e.seconds : 0.0);
    fmt::print("{} by kind: {}\n", graph_name, kinds);
    fmt::print("{} total: {:.3f} ms estimated; {} launches; {:.1f} GFLOP tensor core, {:.1f} GFLOP SIMT, {:.1f} MB\n",
               graph_name, e.seconds * 1e3, e.launches, e.tensor_flops / 1e9, e.simt_flops / 1e9, e.bytes / 1e6);
}

}  // namespace pg::cli
