// The roofline performance model (see perf_model.h).
#include "codegen/perf_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <variant>

#include "base/error.h"
#include "codegen/cuda/coalescing.h"
#include "ops/attention/attention_cuda.h"
#include "ops/gemm/gemm_cuda.h"
#include "ops/cross_entropy/linear_ce_cuda.h"

namespace pg {
namespace {

// Peak figures, dense (no structured sparsity), SXM boards at their boost clock:
//   H100 SXM5 80 GB: bf16 tensor 989.4 TFLOP/s, f32 66.9 TFLOP/s, HBM3 3.35 TB/s
//     (NVIDIA H100 Tensor Core GPU datasheet, "H100 SXM" column; its 1,979 TFLOP/s bf16 is with
//     sparsity. 989 = 528 tensor cores x 1024 FLOP/clk x 1.83 GHz, as in
//     /work/shared/docs/perf-anchors.md and llm.c's llmc/mfu.h.)
//   H200 SXM 141 GB: the same GH100 compute (bf16 989 TFLOP/s dense, f32 67 TFLOP/s) with HBM3e at
//     4.8 TB/s (NVIDIA H200 Tensor Core GPU datasheet, "H200 SXM" column).
// Launch overhead: kernel nodes of a replayed CUDA graph start ~1-2 us apart (launch latency plus
// the ramp-up and drain of a small grid); 2 us is an assumption to be replaced by pgolf bench's
// measurement. (Eager launches cost 7-9 us each on the host, perf-anchors.md's NVIDIA/Fuser #3507.)
// SMs: 132 on both SXM boards (datasheets). Load latency: 500 ns is an ASSUMED figure for a global
// load under a GEMM's traffic (L2 hits are faster, DRAM misses under load slower); it only sets
// how many cp.async stages the model thinks hide it (gemm_efficiency), to be replaced by a
// measurement on a GPU.
const std::vector<GpuPeaks>& gpu_table() {
    static const std::vector<GpuPeaks> table = {
        {"h100", "NVIDIA H100 SXM5 80 GB", 989.4e12, 66.9e12, 3.35e12, 2e-6, 132, 500e-9},
        {"h200", "NVIDIA H200 SXM 141 GB", 989.4e12, 66.9e12, 4.8e12, 2e-6, 132, 500e-9},
    };
    return table;
}

struct LoopCounts {
    double simt_ops = 0;
    std::vector<bool> loaded, stored;
};

void mark_loads(const kir::ExprRef& e, std::set<const kir::Expr*>& seen, LoopCounts& c) {
    if (!e || !seen.insert(e.get()).second) return;
    if (e->kind == kir::ExprKind::Load) c.loaded.at(static_cast<size_t>(e->buffer)) = true;
    for (const kir::ExprRef& a : e->args) mark_loads(a, seen, c);
}

// Floating-point Compute nodes of an expression tree, each shared node once (index arithmetic,
// i64, is not counted: see the header).
double float_ops(const kir::ExprRef& e, std::set<const kir::Expr*>& seen) {
    if (!e || !seen.insert(e.get()).second) return 0;
    double ops = e->kind == kir::ExprKind::Compute && is_float(e->dtype) ? 1 : 0;
    for (const kir::ExprRef& a : e->args) ops += float_ops(a, seen);
    return ops;
}

double stmt_ops(const kir::Stmt& s) {
    std::set<const kir::Expr*> seen;
    double ops = float_ops(s.value, seen);
    bool accumulates = s.kind == kir::StmtKind::AccUpdate || s.kind == kir::StmtKind::StoreAdd;
    return ops + (accumulates ? 1 : 0);
}

void walk(const std::vector<kir::Stmt>& body, double trips, LoopCounts& c) {
    for (const kir::Stmt& s : body) {
        if (s.kind == kir::StmtKind::Loop) {
            walk(s.body, trips * static_cast<double>(s.extent), c);
            continue;
        }
        c.simt_ops += trips * stmt_ops(s);
        std::set<const kir::Expr*> seen;
        mark_loads(s.value, seen, c);
        mark_loads(s.index, seen, c);
        if (s.kind == kir::StmtKind::Store || s.kind == kir::StmtKind::StoreAdd)
            c.stored.at(static_cast<size_t>(s.buffer)) = true;
        if (s.kind == kir::StmtKind::StoreAdd) c.loaded.at(static_cast<size_t>(s.buffer)) = true;
    }
}

const char* kind_name(const PlanStep& st) {
    switch (st.kind) {
        case PlanStep::Kind::Copy: return "copy";
        case PlanStep::Kind::Zero: return "zero";
        case PlanStep::Kind::Gemm: return "gemm";
        case PlanStep::Kind::Attention: return "attention";
        case PlanStep::Kind::LinearCe: return "linear ce";
        case PlanStep::Kind::Kernel: return st.kernel_kind == KernelKind::ScatterAdd ? "scatter" : "loop";
    }
    return "?";
}

bool uses_tensor_cores(const PlanStep& st) {
    if (const auto* c = std::get_if<gemm::GemmConfig>(&st.config)) return c->kind == gemm::GemmKind::Mma;
    return st.gemm->dtype == DType::bf16 || st.gemm->dtype == DType::f16;
}

int launches_of(const PlanStep& st) { return st.cuda ? std::max<int>(1, static_cast<int>(st.cuda->launches.size())) : 1; }

// A GEMM epilogue's work on top of the GEMM's: its arithmetic and the buffers it reads and writes
// beyond the product (whose value it gets in registers); the product's store when it has none.
void add_epilogue_work(const PlanStep& st, KernelWork& w) {
    KernelWork e = loop_work(*st.epilogue);
    const kir::BufferParam& product = st.epilogue->buffers.at(0);
    const double product_bytes = static_cast<double>(product.numel) * static_cast<double>(dtype_size(product.dtype));
    w.simt_ops += e.simt_ops;
    w.bytes += e.bytes - product_bytes;  // loop_work counts the product as read
    if (!st.stores_product) w.bytes -= product_bytes;
}

KernelWork step_work(const PlanStep& st, const GpuPeaks& gpu) {
    KernelWork w;
    if (st.kind == PlanStep::Kind::Copy) w.bytes = 2.0 * static_cast<double>(st.copy_bytes);
    if (st.kind == PlanStep::Kind::Zero) w.bytes = static_cast<double>(st.copy_bytes);
    if (st.kind == PlanStep::Kind::Gemm) {
        const auto* c = std::get_if<gemm::GemmConfig>(&st.config);
        w = c ? gemm_work(st.gemm.value(), *c, gpu) : gemm_work(st.gemm.value(), uses_tensor_cores(st));
        if (st.epilogue) add_epilogue_work(st, w);
    }
    if (st.kind == PlanStep::Kind::Kernel) w = loop_work(st.kir.value(), std::get_if<cuda::MappingConfig>(&st.config));
    if (st.kind == PlanStep::Kind::Attention) w = attention_work(st.attention.value());
    if (st.kind == PlanStep::Kind::LinearCe) w = linear_ce_work(st.linear_ce.value());
    w.launches = launches_of(st);
    return w;
}

}  // namespace

const GpuPeaks& gpu_peaks(const std::string& name) {
    for (const GpuPeaks& g : gpu_table())
        if (g.name == name) return g;
    throw Error(fmt::format("unknown GPU '{}' for the performance model; known: {}", name,
                            fmt::join(known_gpus(), ", ")));
}

std::vector<std::string> known_gpus() {
    std::vector<std::string> names;
    for (const GpuPeaks& g : gpu_table()) names.push_back(g.name);
    return names;
}

KernelWork loop_work(const kir::Kernel& k, const cuda::MappingConfig* mapping) {
    LoopCounts c;
    c.loaded.assign(k.buffers.size(), false);
    c.stored.assign(k.buffers.size(), false);
    walk(k.body, 1.0, c);
    std::vector<cuda::BufferTraffic> traffic = mapping ? cuda::buffer_traffic(k, *mapping) : std::vector<cuda::BufferTraffic>{};
    KernelWork w;
    w.simt_ops = c.simt_ops;
    double coalesced = 0;
    for (size_t b = 0; b < k.buffers.size(); ++b) {
        double size = static_cast<double>(k.buffers[b].numel) * static_cast<double>(dtype_size(k.buffers[b].dtype));
        double bytes = (c.loaded[b] ? size : 0) + (c.stored[b] ? size : 0);
        coalesced += bytes;
        w.bytes += bytes * (traffic.empty() ? 1.0 : traffic[b].inflation());
    }
    w.sector_efficiency = w.bytes > 0 ? coalesced / w.bytes : 1.0;
    return w;
}

KernelWork attention_work(const attn::AttentionProblem& p) {
    using attn::Pass;
    KernelWork w;
    // The CUDA template (bf16/f16) multiplies whole tiles on tensor cores and runs the softmax on
    // them in SIMT; an f32 problem (the CPU template) counts its visible pairs as f32 FMAs.
    const double visible = static_cast<double>(p.b * p.h) * static_cast<double>(p.t) * static_cast<double>(p.t + 1) / 2;
    const bool mma = attn::cuda_template_serves(p.dtype, p.d);
    const double pairs = mma ? attn::cuda_score_pairs(p) : visible;
    (mma ? w.tensor_flops : w.simt_fma_flops) = p.flops() / visible * pairs;
    w.simt_ops = pairs * (p.pass == Pass::Forward ? 4 : 5);
    double q_elems = static_cast<double>(p.b * p.h * p.t * p.d), kv_elems = static_cast<double>(p.b * p.hkv * p.t * p.d);
    double rows = static_cast<double>(p.b * p.h * p.t), esize = static_cast<double>(dtype_size(p.dtype));
    double inputs = (q_elems + 2 * kv_elems) * esize + (p.pass == Pass::Forward ? 0 : q_elems * esize + 2 * rows * 4);
    double outputs = p.pass == Pass::Forward ? (p.has_output[0] ? q_elems * esize : 0) + (p.has_output[1] ? rows * 4 : 0)
                     : p.pass == Pass::GradQ ? q_elems * esize
                                             : (p.has_output[0] + p.has_output[1]) * kv_elems * esize;
    w.bytes = inputs + outputs;
    return w;
}

KernelWork gemm_work(const gemm::GemmProblem& p, bool tensor_cores) {
    KernelWork w;
    (tensor_cores ? w.tensor_flops : w.simt_fma_flops) = p.flops();
    double elements = static_cast<double>(p.batch()) * static_cast<double>(p.m * p.k + p.k * p.n + p.m * p.n);
    w.bytes = elements * static_cast<double>(dtype_size(p.dtype));
    return w;
}

KernelWork gemm_work(const gemm::GemmProblem& p, const gemm::GemmConfig& c, const GpuPeaks& gpu) {
    KernelWork w = gemm_work(p, c.kind == gemm::GemmKind::Mma);
    w.bytes += 2.0 * static_cast<double>(gemm::gemm_workspace_bytes(p, c));  // partials out, then back in
    w.efficiency = gemm_efficiency(p, c, gpu);
    return w;
}

// Two limits on the fraction of the peak a GEMM's blocks reach (the product of both):
//  waves: blocks = output tiles x split-K slices run in ceil(blocks / SMs) waves; the idle SMs of
//    the last wave are lost. The baseline's dW of 512 x 512 (K = 65,536) is 16 blocks of 128 x 128:
//    16 of 132 SMs busy (12%); split 8 ways, 128 blocks (97%).
//  pipeline: each k-tile waits for its loads, issued stages - 1 k-tiles ahead, so a block spends at
//    least load latency / (stages - 1) per k-tile; r resident blocks per SM overlap theirs. r = the
//    blocks per SM of the grid, at most 65,536 registers / (threads x 160): the 128 x 128 MMA
//    instance takes 154 registers per thread (ptxas, sm_90a), so one 256-thread block per SM.
//    With 500 ns of latency, 128 x 128 x 32 k-tiles (140 ns at the H100's peak per SM:
//    2 x 128 x 128 x 32 / (989.4 T / 132)) reach 2 x 140 / 500 = 56% with 3 stages, 84% with 4.
double gemm_efficiency(const gemm::GemmProblem& p, const gemm::GemmConfig& c, const GpuPeaks& gpu) {
    const double tiles = static_cast<double>(((p.m + c.tile_m - 1) / c.tile_m) * ((p.n + c.tile_n - 1) / c.tile_n) * p.batch());
    const double blocks = tiles * c.split_k, sms = gpu.sm_count;
    const double waves = std::ceil(blocks / sms);
    const double wave_use = blocks / (waves * sms);
    const bool mma = c.kind == gemm::GemmKind::Mma;
    const double peak_per_sm = (mma ? gpu.tensor_flops : gpu.simt_flops) / sms;
    const double tile_seconds = 2.0 * c.tile_m * c.tile_n * c.tile_k / peak_per_sm;
    const double resident = std::clamp(std::floor(65536.0 / (c.threads() * 160.0)), 1.0, std::ceil(blocks / sms));
    const double in_flight = std::max(1, c.stages - 1) * resident;
    const double pipeline = gpu.load_latency_seconds > 0
                                ? std::min(1.0, in_flight * tile_seconds / gpu.load_latency_seconds)
                                : 1.0;
    return wave_use * pipeline;
}

KernelEstimate estimate_kernel(std::string name, std::string kind, const KernelWork& w, const GpuPeaks& gpu) {
    KernelEstimate e{std::move(name), std::move(kind), w};
    // Non-FMA ops issue one per lane per cycle: half the FMA-counting peak (see the header).
    e.compute_seconds = (w.tensor_flops / gpu.tensor_flops + w.simt_fma_flops / gpu.simt_flops +
                         w.simt_ops / (gpu.simt_flops / 2)) /
                        w.efficiency;
    e.memory_seconds = w.bytes / gpu.hbm_bytes_per_s;
    e.seconds = std::max(e.compute_seconds, e.memory_seconds) + w.launches * gpu.launch_seconds;
    return e;
}

StepEstimate estimate_plan(const ExecPlan& plan, const GpuPeaks& gpu) {
    StepEstimate s;
    s.gpu = gpu.name;
    for (const PlanStep& st : plan.steps) {
        KernelEstimate e = estimate_kernel(st.name, kind_name(st), step_work(st, gpu), gpu);
        s.seconds += e.seconds;
        s.tensor_flops += e.work.tensor_flops;
        s.simt_flops += e.work.simt_flops();
        s.bytes += e.work.bytes;
        s.launches += e.work.launches;
        s.kernels.push_back(std::move(e));
    }
    return s;
}

void apply_sector_efficiency(StepEstimate& s, const std::map<std::string, double>& efficiency, const GpuPeaks& gpu) {
    for (KernelEstimate& k : s.kernels) {
        auto it = efficiency.find(k.name);
        if (it == efficiency.end()) continue;
        PG_ASSERT(it->second > 0 && it->second <= 1, "sector efficiency {} of {}", it->second, k.name);
        KernelWork w = k.work;
        w.bytes = w.coalesced_bytes() / it->second;
        w.sector_efficiency = it->second;
        KernelEstimate measured = estimate_kernel(k.name, k.kind, w, gpu);
        s.seconds += measured.seconds - k.seconds;
        s.bytes += measured.work.bytes - k.work.bytes;
        k = std::move(measured);
    }
}

KernelWork linear_ce_work(const ce::LinearCeProblem& p) {
    using ce::Pass;
    KernelWork w;
    int64_t passes = ce::cuda_logit_passes(p);
    w.tensor_flops = p.flops(passes);
    double logits = static_cast<double>(p.n) * static_cast<double>(p.v);
    w.simt_ops = logits * static_cast<double>(passes) * (p.pass == Pass::Forward ? 6 : 8);
    double esize = static_cast<double>(dtype_size(p.dtype)), rows = static_cast<double>(p.n);
    double x = rows * static_cast<double>(p.d) * esize, wt = static_cast<double>(p.v * p.d) * esize;
    double tokens = rows * static_cast<double>(dtype_size(p.target_dtype)) + (p.pass == Pass::Forward ? 0 : 4 * rows * 4);
    double out = p.pass == Pass::Forward ? rows * 8 : p.pass == Pass::GradX ? x : wt;
    w.bytes = x + wt + tokens + out;
    return w;
}

}  // namespace pg
