// CpuExecutable: a graph compiled for the CPU backend. Construction runs the pass pipeline, the
// schedule, lowering, the LLVM ORC JIT (through the kernel cache) and the memory plan, and builds
// an immutable execution plan; run() replays that plan (one training step when the graph holds
// forward, backward and optimizer updates) and then applies the state updates.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/schedule.h"
#include "graph/graph.h"
#include "graph/tensor_data.h"

namespace pg {

class CpuProgram;
struct BlasMatmul;

struct CpuPlanStats {
    int loop_kernels = 0, blas_calls = 0, scatter_kernels = 0;
    int64_t arena_bytes = 0, naive_bytes = 0;
    double compile_seconds = 0;
    int cache_hits = 0;
    int launches() const { return loop_kernels + blas_calls + scatter_kernels; }
};

class CpuExecutable {
public:
    explicit CpuExecutable(const Graph& g, const ScheduleOptions& opts = schedule_options_from_env());
    ~CpuExecutable();
    CpuExecutable(const CpuExecutable&) = delete;
    CpuExecutable& operator=(const CpuExecutable&) = delete;

    // Leaf values (Param, Input): the tensor's dtype and shape must match the leaf's.
    void set(const std::string& leaf, const HostTensor& value);
    void set_scalar(const std::string& name, double value);
    bool has_leaf(const std::string& name) const;

    // A leaf's current value (params change after each run) or an output's latest value.
    HostTensor get(const std::string& name) const;
    // Direct pointer into a leaf's storage (for loaders that write batches in place).
    void* leaf_data(const std::string& name);

    void run();

    // With PG_PROFILE=1, run() times every step; this lists the `top` most expensive steps with
    // their total time and share, and resets nothing.
    std::string profile_report(int top) const;

    const CpuPlanStats& stats() const { return stats_; }
    const Graph& graph() const { return graph_; }  // after passes (primitive only)
    const Schedule& schedule() const { return schedule_; }

private:
    struct Step;
    struct LeafStorage;

    void build_plan();
    uint8_t* buffer_of(NodeId id);
    const LeafStorage& leaf(const std::string& name) const;

    Graph graph_;
    ScheduleOptions opts_;
    Schedule schedule_;
    std::unique_ptr<CpuProgram> program_;
    std::vector<Step> steps_;
    std::vector<LeafStorage> leaves_;
    std::vector<int> leaf_of_node_;       // node -> index into leaves_, or -1
    std::vector<int64_t> arena_offset_;   // node -> offset in arena_, or -1
    uint8_t* arena_ = nullptr;
    CpuPlanStats stats_;
    bool profile_ = false;
    std::vector<double> step_seconds_;
    std::vector<std::string> step_names_;
    int64_t profiled_runs_ = 0;
};

}  // namespace pg
