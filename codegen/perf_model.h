// A performance model of a compiled step without a GPU: for every step of an ExecPlan, the work
// by unit (tensor-core FLOPs, SIMT FLOPs) and the global-memory bytes it must move, and an
// estimated time on a named GPU.
//
// It is an ESTIMATE, a roofline: time = max((tensor FLOPs / tensor peak + SIMT FLOPs / SIMT peak)
// / efficiency, bytes / HBM bandwidth) + launches x launch overhead. It assumes every kernel reads
// each buffer once (perfect caching of re-reads and broadcasts; wasted sectors are charged, see
// below) and, but for
// GEMMs, reaches its unit's peak (efficiency 1); bank conflicts, occupancy, tail effects, atomics
// and 64-bit index arithmetic are not modelled there. Measured times (pgolf bench on a GPU) keep
// it honest.
//
// What counts:
//   Gemm step    2*m*n*k*batch FLOPs, on tensor cores when its configuration is an mma.sync one
//                (bf16/f16 operands), else SIMT FMAs; bytes = A + B + C once each, plus the split-K
//                workspace written and read back, plus a fused epilogue's buffers and SIMT ops (C
//                not counted when only the epilogue reads it); efficiency = gemm_efficiency (its
//                blocks' waves over the SMs and its cp.async pipeline's latency hiding), one
//                launch more with split-K (the reduction).
//   Loop/Scatter one FLOP per Compute expression (an add, a cast, an exp) or accumulator update
//                per innermost iteration, at half the SIMT FMA peak (one instruction per lane
//                per cycle, where the peak counts an FMA as two); bytes = every buffer the kernel
//                loads read once, every buffer it stores written once (a += store both), each
//                times its sector inflation under the kernel's CUDA mapping (codegen/cuda/
//                coalescing.h: sector bytes moved per byte asked, e.g. 8 for 4-byte lanes a row
//                apart).
//   Copy / Zero  2 x bytes / bytes, one launch (a device memcpy / memset node).
//   Attention    a flash-attention pass: its products (AttentionProblem::flops: 2 forward, 3 dq,
//                4 dk/dv) on tensor cores over the (query, key) pairs of the whole tiles the CUDA
//                template computes (attn::cuda_score_pairs: the diagonal tiles in full), plus the
//                softmax's SIMT ops per such pair (forward 4: scale, max, exp, sum; backward 5:
//                scale, exp, dP - delta, times P, times scale); an f32 problem (not the CUDA
//                template's) counts the visible pairs' products as SIMT FMAs. Bytes = every input
//                read once and every output written once (no [T, T] tensor goes through memory).
//   LinearCe     a linear cross-entropy pass: its logit products, recomputed cuda_logit_passes
//                times, plus the gradient's product (LinearCeProblem::flops) on tensor cores, and
//                SIMT ops per logit and pass (forward 6: round, softcap, max, exp, sum, target
//                compare; gradient 8: round, softcap, exp, times, target compare, slope, product,
//                round); bytes = every input read once and the output written once (no [N, V]
//                tensor goes through memory; the re-reads of x and w hit L2).
//
// Measured sectors: the host emulation (tests/cuda/cuda_emulator.h, global_sectors) counts the
// 32-byte sectors each warp-wide request touches; apply_sector_efficiency charges a kernel's
// coalesced bytes divided by its measured efficiency (asked-for bytes / sector bytes) in place of
// the static figure. pgolf compile --estimate cannot run the emulation: it prints the static one.
// The templates (GEMM, attention, cross-entropy) count as coalesced: their operand loads are
// 16-byte cp.async or row loads, the tensor-core GEMM stores its tiles (and runs its epilogue)
// row-major through shared memory (whole sectors, measured); the attention and cross-entropy
// templates' scattered stores are not charged.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_mapping.h"
#include "codegen/exec_plan.h"
#include "codegen/kir.h"
#include "ops/gemm/gemm_problem.h"

namespace pg {

// Peak figures of one GPU (see the table in perf_model.cpp for the sources).
struct GpuPeaks {
    std::string name;               // "h100", "h200"
    std::string description;        // "NVIDIA H100 SXM5 80 GB"
    double tensor_flops = 0;        // dense bf16 tensor-core FLOP/s (f32 accumulate)
    double simt_flops = 0;          // f32 FMA FLOP/s of the CUDA cores (an FMA counts 2)
    double hbm_bytes_per_s = 0;     // global-memory bandwidth
    double launch_seconds = 0;      // per kernel launch inside a CUDA graph (assumed)
    int sm_count = 132;             // streaming multiprocessors
    double load_latency_seconds = 0;  // a global load's latency under load (assumed, see the table)
};

// The named GPU ("h100" or "h200"); a pg::Error listing the known names otherwise.
const GpuPeaks& gpu_peaks(const std::string& name);
std::vector<std::string> known_gpus();

struct KernelWork {
    double tensor_flops = 0;    // tensor-core FLOPs (an FMA counts 2)
    double simt_fma_flops = 0;  // SIMT FLOPs issued as FMAs (the f32 GEMM; an FMA counts 2)
    double simt_ops = 0;        // other SIMT float ops (loop kernels; one each)
    double bytes = 0;           // moved: the sectors' waste included
    // The bytes the kernel asks for over the bytes its sectors move (loop kernels: static, from
    // their mapping, codegen/cuda/coalescing.h; or measured: apply_sector_efficiency); 1: coalesced.
    double sector_efficiency = 1;
    double coalesced_bytes() const { return bytes * sector_efficiency; }
    int launches = 1;
    double efficiency = 1;      // the fraction of the units' peak its blocks can reach (GEMMs)
    double simt_flops() const { return simt_fma_flops + simt_ops; }
};

// The work of a generated loop kernel (kir), counted as the header says; with the CUDA mapping it
// runs with, each buffer's bytes are charged its wasted sectors (coalescing.h).
KernelWork loop_work(const kir::Kernel& k, const cuda::MappingConfig* mapping = nullptr);
// The work of a GEMM; `tensor_cores` chooses the unit.
KernelWork gemm_work(const gemm::GemmProblem& p, bool tensor_cores);
// The work of a GEMM run with configuration `c`: its unit, the split-K workspace's traffic and
// gemm_efficiency.
KernelWork gemm_work(const gemm::GemmProblem& p, const gemm::GemmConfig& c, const GpuPeaks& gpu);
// The fraction of the peak a GEMM's blocks can reach on `gpu` (perf_model.cpp explains the terms).
double gemm_efficiency(const gemm::GemmProblem& p, const gemm::GemmConfig& c, const GpuPeaks& gpu);
// The work of a flash-attention pass, counted as the header says.
KernelWork attention_work(const attn::AttentionProblem& p);
// The work of a linear cross-entropy pass, counted as the header says.
KernelWork linear_ce_work(const ce::LinearCeProblem& p);

struct KernelEstimate {
    std::string name;        // the plan step's name
    std::string kind;        // "gemm", "loop", "scatter", "copy", "zero", "attention", "linear ce"
    KernelWork work;
    double compute_seconds = 0, memory_seconds = 0;
    double seconds = 0;      // roofline + launches
    bool memory_bound() const { return memory_seconds >= compute_seconds; }
};

struct StepEstimate {
    std::string gpu;
    std::vector<KernelEstimate> kernels;  // in plan order
    double seconds = 0;
    double tensor_flops = 0, simt_flops = 0, bytes = 0;
    int launches = 0;
};

// The roofline time of one kernel's work on `gpu`.
KernelEstimate estimate_kernel(std::string name, std::string kind, const KernelWork& w, const GpuPeaks& gpu);
// Every step of a plan (CUDA or CPU target; a CPU plan's GEMMs count as tensor-core work when
// their operands are bf16/f16).
StepEstimate estimate_plan(const ExecPlan& plan, const GpuPeaks& gpu);

// Re-estimates the kernels named in `efficiency` (step name -> measured bytes asked / bytes of
// the sectors touched, in (0, 1]) with their coalesced bytes divided by it (in place of the
// static estimate), and the step's totals.
void apply_sector_efficiency(StepEstimate& s, const std::map<std::string, double>& efficiency, const GpuPeaks& gpu);

}  // namespace pg
