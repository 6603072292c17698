// CudaGraph: a sequence of launches and copies captured once from the device's stream into a
// CUDA graph, instantiated, and replayed with a single launch: the per-kernel launch overhead
// (~2-4 us of CPU each) is paid once at capture instead of every step.
#pragma once
#include <functional>

#include "runtime/cuda/cuda_device.h"

namespace pg {

class CudaGraph {
public:
    // Runs `enqueue` (which must only enqueue work on device.stream(): launches, device copies)
    // under stream capture and instantiates the result. Nothing executes yet.
    CudaGraph(CudaDevice& device, const std::function<void()>& enqueue);
    ~CudaGraph();
    CudaGraph(const CudaGraph&) = delete;
    CudaGraph& operator=(const CudaGraph&) = delete;

    // Enqueues one replay on the device's stream.
    void launch();

private:
    CudaDevice& device_;
    void* graph_ = nullptr;  // CUgraph
    void* exec_ = nullptr;   // CUgraphExec
};

}  // namespace pg
