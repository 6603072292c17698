// Backend targets and their knobs (see target.h).
#include "codegen/target.h"

#include <fmt/format.h>

#include "base/determinism.h"
#include "base/env.h"
#include "base/error.h"
#include "ops/cross_entropy/linear_ce_cuda.h"

namespace pg {

PG_KNOB({.name = "PG_FUSION", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "0 turns fusion off: one kernel per op, the unfused baseline", .affects_codegen = true});
// 4: inlining cheap arithmetic into up to 4 evaluations costs less than a store and a reload.
PG_KNOB({.name = "PG_FUSION_MAX_RECOMPUTE", .kind = env::KnobKind::Float, .default_value = "4",
         .doc = "cheap elementwise ops are recomputed in up to this many evaluations instead of stored",
         .affects_codegen = true});
// 32^3: below this the per-call overhead of OpenBLAS (thread wake-up, packing) exceeds the work;
// benchmarks/matmul_bench measures both paths.
PG_KNOB({.name = "PG_BLAS_MIN_FLOPS", .kind = env::KnobKind::Int, .default_value = "32768",
         .doc = "matmuls with M*N*K at least this run on OpenBLAS on CPU; 0 disables BLAS",
         .affects_codegen = true});
// 32^3, as on the CPU: a smaller product fills less than one 64 x 64 tile with useful work,
// while as a generated loop kernel it fuses its operands' producers and saves their round trip
// through memory.
PG_KNOB({.name = "PG_CUDA_GEMM_MIN_FLOPS", .kind = env::KnobKind::Int, .default_value = "32768",
         .doc = "matmuls with M*N*K at least this run as GEMM template kernels on the GPU; 0 = never",
         .affects_codegen = true});

PG_KNOB({.name = "PG_GEMM_SPLIT_K", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 lets the GPU GEMM heuristic split long K across blocks (split-K, e.g. the weight gradients); 0 never",
         .affects_codegen = true});

PG_KNOB({.name = "PG_GEMM_EPILOGUE", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 fuses the elementwise kernels that read a GPU GEMM's product (activations, residual adds, casts) "
                "into the GEMM's epilogue; 0 keeps them as kernels of their own",
         .affects_codegen = true});

PG_KNOB({.name = "PG_SPLIT_OUTER_REDUCTIONS", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 runs GPU sums over many leading rows ([B, T, d] -> [d]) in coalesced 16-row stages; 0 as one "
                "strided reduction",
         .affects_codegen = true});

PG_KNOB({.name = "PG_FLASH_ATTENTION", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "0 decomposes attention into its reference expansion ([T, T] scores) even with fusion on",
         .affects_codegen = true});

PG_KNOB({.name = "PG_FUSED_CE", .kind = env::KnobKind::String, .default_value = "auto",
         .doc = "the tied head's fused linear cross-entropy (no [N, V] logits in memory): 1 on, 0 off (the head "
                "matmul and the cross-entropy), auto = on for CUDA, off for the CPU",
         .affects_codegen = true});

namespace {

// Whether PG_FUSED_CE turns the linear cross-entropy template on for a backend. Off by default on
// the CPU: there its tiled passes measured 17% slower per step than the BLAS matmul and loop
// kernels of the unfused head (17.1 s -> 20.1 s, benchmarks/results/2026-12-01-fused-ce.md) for a
// smaller arena by under 1% (the MLP hidden is as large as the logits).
bool fused_ce(TargetKind kind) {
    const std::string v = env::get("PG_FUSED_CE");
    PG_CHECK(v == "auto" || v == "0" || v == "1", "PG_FUSED_CE={}: use 1, 0 or auto", v);
    return v == "1" || (v == "auto" && kind == TargetKind::Cuda);
}

}  // namespace

PassOptions Target::pass_options() const {
    // PG_FUSION=0 is the unfused reference: every attention and linear cross-entropy decomposes there.
    return PassOptions{.widen_low_precision_matmuls = widen_low_precision_matmuls,
                       .split_outer_reductions = split_outer_reductions,
                       .attention = fusion ? attention : AttentionTemplates{},
                       .linear_ce = fusion ? linear_ce : LinearCeTemplates{}};
}

ScheduleOptions Target::schedule_options() const {
    ScheduleOptions o;
    o.fusion = fusion;
    o.gemm_min_flops = gemm_min_flops;
    o.gemm_low_precision = gemm_low_precision;
    o.row_accumulation = row_accumulation;
    o.separate_nested_reductions = separate_nested_reductions;
    o.max_recompute = fusion_max_recompute;
    o.gemm_epilogues = gemm_epilogues;
    o.tuned = tuned;
    return o;
}

std::string Target::to_string() const {
    std::string s = kind == TargetKind::Cpu ? "cpu" : "cuda " + arch;
    if (!fusion) s += " unfused";
    if (fusion && !attention.dtypes.empty()) s += " flash";
    if (fusion && !linear_ce.dtypes.empty()) s += " fused-ce";
    s += gemm_min_flops > 0 ? fmt::format(" gemm>={}", gemm_min_flops) : " no-gemm";
    if (fusion_max_recompute != 4) s += fmt::format(" recompute<={}", fusion_max_recompute);
    if (deterministic && kind == TargetKind::Cuda) s += " deterministic";
    if (!gemm_split_k && kind == TargetKind::Cuda) s += " no-split-k";
    if (!gemm_epilogues && kind == TargetKind::Cuda) s += " no-epilogue";
    if (tuned && !tuned->empty())
        s += fmt::format(" tuned({} kernels, {} matmuls)", tuned->kernels.size(), tuned->matmul_on_library.size());
    return s;
}

Target cpu_target() {
    Target t;
    t.kind = TargetKind::Cpu;
    t.fusion = env::get_bool("PG_FUSION");
    t.fusion_max_recompute = env::get_float("PG_FUSION_MAX_RECOMPUTE");
    t.gemm_min_flops = env::get_int("PG_BLAS_MIN_FLOPS");
    t.widen_low_precision_matmuls = true;
    if (env::get_bool("PG_FLASH_ATTENTION")) t.attention.dtypes = {DType::f32};
    if (fused_ce(TargetKind::Cpu)) t.linear_ce.dtypes = {DType::f32};
    return t;
}

Target cuda_target(const std::string& arch) {
    Target t;
    t.kind = TargetKind::Cuda;
    t.arch = arch;
    t.fusion = env::get_bool("PG_FUSION");
    t.fusion_max_recompute = env::get_float("PG_FUSION_MAX_RECOMPUTE");
    t.gemm_min_flops = env::get_int("PG_CUDA_GEMM_MIN_FLOPS");
    t.gemm_low_precision = true;
    t.row_accumulation = false;
    t.separate_nested_reductions = true;
    t.deterministic = deterministic_mode();
    t.gemm_split_k = env::get_bool("PG_GEMM_SPLIT_K");
    t.gemm_epilogues = env::get_bool("PG_GEMM_EPILOGUE");
    t.split_outer_reductions = env::get_bool("PG_SPLIT_OUTER_REDUCTIONS");
    if (env::get_bool("PG_FLASH_ATTENTION")) t.attention = {{DType::bf16, DType::f16}, {64, 128}};  // attention_cuda.h
    if (fused_ce(TargetKind::Cuda)) t.linear_ce = {{DType::bf16, DType::f16}, ce::kCudaDimMultiple};
    return t;
}

}  // namespace pg
