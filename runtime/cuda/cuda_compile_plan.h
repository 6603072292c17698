// compile_cuda_plan: the device-independent half of the CUDA backend. From a primitive graph
// (after the pass pipeline) it schedules for the GPU, lowers and renders every kernel
// (codegen/cuda/cuda_plan.h) and compiles them all with NVRTC. `pgolf compile`, the compile
// benchmark and CudaExecutable share it; only the executable needs a GPU.
#pragma once
#include <memory>
#include <vector>

#include "codegen/cuda/cuda_plan.h"
#include "codegen/schedule.h"
#include "graph/graph.h"
#include "runtime/cuda/nvrtc_compiler.h"

namespace pg {

struct CompiledCudaPlan {
    Schedule schedule;
    std::vector<CudaPlannedKernel> kernels;  // in execution order
    std::unique_ptr<CudaProgram> program;    // program->report(i) is kernels[i]'s
    double plan_seconds = 0;                 // schedule, lowering and rendering
};

// With PG_DUMP_DIR set, also writes every kernel's kir (<name>.kir) next to its source.
CompiledCudaPlan compile_cuda_plan(const Graph& g, const ScheduleOptions& schedule_options,
                                   const CudaCompileOptions& compile_options);

}  // namespace pg
