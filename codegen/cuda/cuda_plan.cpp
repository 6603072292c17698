// GPU planning: schedule options, lowering and rendering of every scheduled kernel (see
// cuda_plan.h).
#include "codegen/cuda/cuda_plan.h"

#include <fmt/format.h>

#include "codegen/cuda/cuda_renderer.h"
#include "codegen/lower.h"
#include "codegen/view.h"
#include "ops/gemm/gemm_cuda.h"
#include "runtime/digest.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace pg {

// 32^3, as on the CPU: a smaller product fills less than one 64 x 64 tile with useful work,
// while as a generated loop kernel it fuses its operands' producers and saves their round trip
// through memory.
PG_KNOB({.name = "PG_CUDA_GEMM_MIN_FLOPS", .kind = env::KnobKind::Int, .default_value = "32768",
         .doc = "matmuls with M*N*K at least this run as GEMM template kernels on the GPU; 0 = never",
         .affects_codegen = true});

ScheduleOptions cuda_schedule_options() {
    ScheduleOptions o;
    o.fusion = env::get_bool("PG_FUSION");
    o.blas_min_flops = env::get_int("PG_CUDA_GEMM_MIN_FLOPS");
    o.blas_low_precision = true;
    o.row_accumulation = false;
    o.separate_nested_reductions = true;
    return o;
}

namespace {

CudaPlannedKernel plan_gemm(const Graph& g, const Schedule& s, size_t index) {
    const ScheduledKernel& sk = s.kernels[index];
    const Node& mm = g[sk.root];
    size_t r = mm.shape.size();
    StridedView va = blas_operand(g, s, mm.inputs[0]);
    StridedView vb = blas_operand(g, s, mm.inputs[1]);
    gemm::GemmProblem p;
    p.dtype = mm.dtype;
    p.m = mm.shape[r - 2];
    p.n = mm.shape[r - 1];
    p.k = g[mm.inputs[0]].shape[r - 1];
    PG_ASSERT(blas_layout(va, p.trans_a, p.lda) && blas_layout(vb, p.trans_b, p.ldb),
              "GEMM operands of %{} have no matrix layout", sk.root);
    PG_ASSERT(g[va.base].dtype == p.dtype && g[vb.base].dtype == p.dtype, "GEMM operand dtypes of %{}", sk.root);
    p.batch_shape.assign(mm.shape.begin(), mm.shape.end() - 2);
    p.a_batch_strides.assign(va.strides.begin(), va.strides.end() - 2);
    p.b_batch_strides.assign(vb.strides.begin(), vb.strides.end() - 2);
    p.a_offset = va.offset;
    p.b_offset = vb.offset;
    gemm::GemmConfig c = gemm::choose_gemm_config(p);
    // The entry is named after the instance's own text, so equal GEMMs share one compile.
    std::string entry = "gemm_" + sha256_hex(gemm::gemm_cuda_source(p, c, "entry")).substr(0, 12);

    CudaPlannedKernel k;
    k.schedule_index = index;
    k.kind = KernelKind::Blas;
    k.buffer_nodes = {sk.root, va.base, vb.base};
    k.source.name = fmt::format("k{:03}_gemm", index);
    k.source.source = gemm::gemm_cuda_source(p, c, entry);
    k.source.launches = {{entry, gemm::gemm_grid(p, c), c.threads()}};
    k.source.mapping = fmt::format("gemm {} {}x{}x{} batch {}", c.to_string(), p.m, p.n, p.k, p.batch());
    return k;
}

}  // namespace

std::vector<CudaPlannedKernel> plan_cuda_kernels(const Graph& g, const Schedule& s) {
    std::vector<CudaPlannedKernel> out;
    out.reserve(s.kernels.size());
    for (size_t i = 0; i < s.kernels.size(); ++i) {
        const ScheduledKernel& sk = s.kernels[i];
        if (sk.kind == KernelKind::Blas) {
            out.push_back(plan_gemm(g, s, i));
            continue;
        }
        LoweredKernel lowered = lower_kernel(g, s, sk, fmt::format("k{:03}_{}", i, op_name(g[sk.root].op)));
        CudaPlannedKernel k;
        k.schedule_index = i;
        k.kind = sk.kind;
        k.buffer_nodes = std::move(lowered.buffer_nodes);
        k.source = render_cuda(lowered.kernel);
        k.kir = std::move(lowered.kernel);
        out.push_back(std::move(k));
    }
    return out;
}

}  // namespace pg
