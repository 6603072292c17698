// CudaExecutable: a graph compiled for the GPU, mirroring CpuExecutable. Construction runs the
// pass pipeline, the GPU schedule, rendering, NVRTC (through the kernel cache), module loading
// and the memory plan, and builds an immutable list of steps (kernel launches, device copies for
// the state updates) over one device allocation: leaves first, then the planned arena of
// intermediates. run() replays the steps: the first run captures them as a CUDA graph, every run
// launches that graph (PG_CUDA_GRAPH=0 launches the steps one by one instead).
//
// run() is asynchronous; set(), get() and synchronize() order themselves after it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_plan.h"
#include "codegen/schedule.h"
#include "graph/graph.h"
#include "graph/tensor_data.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/nvrtc_compiler.h"

namespace pg {

class CudaGraph;
class CudaModule;

struct CudaPlanStats {
    int loop_kernels = 0, gemm_kernels = 0, scatter_kernels = 0;
    int launches = 0;  // kernel launches per step (a kernel may have several phases)
    int64_t arena_bytes = 0, naive_bytes = 0, leaf_bytes = 0;
    double plan_seconds = 0;
    CudaCompileStats compile;
};

class CudaExecutable {
public:
    explicit CudaExecutable(const Graph& g, const ScheduleOptions& opts = cuda_schedule_options());
    ~CudaExecutable();
    CudaExecutable(const CudaExecutable&) = delete;
    CudaExecutable& operator=(const CudaExecutable&) = delete;

    // Leaf values (Param, Input): the tensor's dtype and shape must match the leaf's.
    void set(const std::string& leaf, const HostTensor& value);
    void set_scalar(const std::string& name, double value);
    bool has_leaf(const std::string& name) const;
    // A leaf's current value or an output's latest value (waits for the step).
    HostTensor get(const std::string& name) const;
    // Device address of a leaf (for loaders that upload batches themselves).
    DevicePtr leaf_data(const std::string& name) const;

    // One step: the captured CUDA graph (captured on first use) or, with PG_CUDA_GRAPH=0, eager
    // launches.
    void run();
    // One step of eager launches, whatever PG_CUDA_GRAPH says.
    void run_eager();
    void synchronize();

    bool uses_graph() const { return use_graph_; }
    const CudaPlanStats& stats() const { return stats_; }
    const Graph& graph() const { return graph_; }  // after passes (primitive only)
    const Schedule& schedule() const { return schedule_; }

private:
    struct Step;
    struct LeafSlot;

    void build_plan(const ScheduleOptions& opts);
    void enqueue();
    DevicePtr address_of(NodeId id) const;
    const LeafSlot& leaf(const std::string& name) const;

    CudaDevice& device_;
    Graph graph_;
    Schedule schedule_;
    bool use_graph_ = true;
    std::vector<std::unique_ptr<CudaModule>> modules_;
    std::vector<Step> steps_;
    std::vector<LeafSlot> leaves_;
    std::vector<int64_t> offset_;  // node -> byte offset in the allocation, or -1
    DevicePtr memory_ = 0;
    std::unique_ptr<CudaGraph> cuda_graph_;
    CudaPlanStats stats_;
};

}  // namespace pg
