// Target: what a backend offers the compile driver, in one place. The driver derives the pass
// options and the schedule's options from it; executables never decide codegen questions.
//   CPU:  matmuls of f32 operands above PG_BLAS_MIN_FLOPS run on OpenBLAS; bf16/f16 matmuls are
//         widened to f32 first (OpenBLAS has no bf16); outer sums accumulate whole rows (the
//         contiguous inner loops vectorize); kernels are kir for the LLVM renderer; f32 attention
//         runs as the CPU flash attention (ops/attention/flash_cpu.h) when fusion is on, and with
//         PG_FUSED_CE=1 (off by default: slower here) the f32 tied head's linear cross-entropy as
//         its tiled CPU passes (ops/cross_entropy/linear_ce_cpu.h).
//   CUDA: matmuls of any float dtype above PG_CUDA_GEMM_MIN_FLOPS run as GEMM template
//         instances; no row accumulation (one thread, warp or block per output element); nested
//         reductions get kernels of their own; sums over many leading rows run in stages whose
//         threads read neighbouring columns; the elementwise kernels that read a GEMM's
//         product at their own element run in its epilogue (PG_GEMM_EPILOGUE); kernels are
//         rendered as CUDA C++ for NVRTC;
//         bf16/f16 attention with head dim 64 or 128 runs as the flash-attention template, and the
//         bf16/f16 linear cross-entropy of a model dim that is a multiple of 64 as its template.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "codegen/passes.h"
#include "codegen/schedule.h"

namespace pg {

enum class TargetKind : uint8_t { Cpu, Cuda };

struct Target {
    TargetKind kind = TargetKind::Cpu;
    std::string arch;                          // CUDA: "sm_90a", "sm_80"; CPU: ""
    bool fusion = true;                        // PG_FUSION
    int64_t gemm_min_flops = 0;                // M*N*K at which a matmul becomes a Gemm step; <= 0: never
    bool gemm_low_precision = false;           // the GEMM takes bf16/f16 operands
    bool widen_low_precision_matmuls = false;  // bf16/f16 matmuls become f32 ones (see passes.h)
    bool row_accumulation = true;
    bool separate_nested_reductions = false;
    double fusion_max_recompute = 4;           // PG_FUSION_MAX_RECOMPUTE (schedule.h)
    bool deterministic = false;                // PG_DETERMINISTIC: CUDA adds by owner threads
    bool gemm_split_k = true;                  // PG_GEMM_SPLIT_K: the GEMM heuristic may split K
    bool gemm_epilogues = false;               // PG_GEMM_EPILOGUE (CUDA): elementwise consumers fused into GEMMs
    bool split_outer_reductions = false;       // PG_SPLIT_OUTER_REDUCTIONS (CUDA): sums over many rows in stages
    AttentionTemplates attention;              // attention run as flash-attention templates (passes.h)
    LinearCeTemplates linear_ce;               // the head's cross-entropy run as tiled templates (passes.h)
    // Decisions from the tuning database for this device (runtime/tuning/), or null: the
    // documented heuristics of kernel_config.h decide.
    std::shared_ptr<const TunedDecisions> tuned;

    PassOptions pass_options() const;
    ScheduleOptions schedule_options() const;
    std::string to_string() const;  // "cpu" or "cuda sm_90a", with the non-default choices and
                                    // the number of tuned decisions
};

// The CPU target with PG_FUSION, PG_FUSION_MAX_RECOMPUTE and PG_BLAS_MIN_FLOPS (no tuned decisions:
// the runtime attaches those, runtime/tuning/tuning_db.h).
Target cpu_target();
// The CUDA target for `arch` with PG_FUSION, PG_FUSION_MAX_RECOMPUTE and PG_CUDA_GEMM_MIN_FLOPS.
Target cuda_target(const std::string& arch);

}  // namespace pg
