// Stream capture into a CUDA graph (see cuda_graph.h).
#include "runtime/cuda/cuda_graph.h"

#include "base/error.h"
#include "runtime/cuda/cuda_api.h"

namespace pg {

CudaGraph::CudaGraph(CudaDevice& device, const std::function<void()>& enqueue) : device_(device) {
    device_.make_current();
    auto stream = static_cast<CUstream>(device_.stream());
    // Thread-local capture mode: other threads' unrelated CUDA calls do not invalidate it.
    PG_CU(cuStreamBeginCapture, stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    CUgraph graph = nullptr;
    try {
        enqueue();
    } catch (...) {
        cuda::driver().cuStreamEndCapture(stream, &graph);  // end the capture before rethrowing
        if (graph) cuda::driver().cuGraphDestroy(graph);
        throw;
    }
    PG_CU(cuStreamEndCapture, stream, &graph);
    graph_ = graph;
    CUgraphExec exec = nullptr;
    PG_CU(cuGraphInstantiate, &exec, graph, 0);
    exec_ = exec;
}

CudaGraph::~CudaGraph() {
    device_.make_current();
    if (exec_) cuda::driver().cuGraphExecDestroy(static_cast<CUgraphExec>(exec_));
    if (graph_) cuda::driver().cuGraphDestroy(static_cast<CUgraph>(graph_));
}

void CudaGraph::launch() {
    device_.make_current();
    PG_CU(cuGraphLaunch, static_cast<CUgraphExec>(exec_), static_cast<CUstream>(device_.stream()));
}

}  // namespace pg
