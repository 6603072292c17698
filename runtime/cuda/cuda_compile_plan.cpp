// Schedule, render and compile a graph for the GPU (see cuda_compile_plan.h).
#include "runtime/cuda/cuda_compile_plan.h"

#include <chrono>

#include "runtime/kernel_cache.h"

namespace pg {

CompiledCudaPlan compile_cuda_plan(const Graph& g, const ScheduleOptions& schedule_options,
                                   const CudaCompileOptions& compile_options) {
    auto t0 = std::chrono::steady_clock::now();
    CompiledCudaPlan p;
    p.schedule = schedule(g, schedule_options);
    p.kernels = plan_cuda_kernels(g, p.schedule);
    std::vector<CudaKernelSource> sources;
    sources.reserve(p.kernels.size());
    for (const CudaPlannedKernel& k : p.kernels) {
        sources.push_back(k.source);
        if (k.kir) dump_file(k.source.name + ".kir", kir::to_string(*k.kir));
    }
    p.plan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    p.program = CudaProgram::compile(sources, compile_options);
    return p;
}

}  // namespace pg
