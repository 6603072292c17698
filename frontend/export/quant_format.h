// How each tensor is stored in the artifact: the per-tensor formats (intN per row or per group with
// a clip rule, ternary, fp16/fp32 passthrough) and the QUANT setting that picks one per tensor
// class (pgolf-spec §4.5), e.g. QUANT=attn:int6,mlp_up:int5,mlp_down:int4,emb:int8.
//
// Format grammar:  int8 .. int3 | ternary | fp16 | fp32, then optionally /gN (groups of N
// consecutive elements of a row share a scale instead of the whole row) and @RULE, the clip rule:
//   @q        the baseline's rule (default): clip_r = quantile(|w_r|, 0.9999984),
//             scale = max(clip_r / R, floor) with floor 1/127 for int8 (bit-exact with the baseline)
//             and 2^-24 (the least fp16) below (the records' int6 "rowmax/31"; see docs/export.md
//             for the early records' 1/31 floor, which pgolf does not copy);
//   @search   GPTQ-lite: the clip quantile from {0.999, 0.9995, 0.9999, 0.99999, 1.0} with the least
//             squared reconstruction error, per row (or group);
//   @sdK      SDClip: scale = max(K * std(w_r) / R, 2^-24) (K a decimal, e.g. @sd12.85);
//   ternary   always scale = max(mean|w_r|, 2^-24) (absmean), codes {-1, 0, 1}.
// R = 2^(bits-1) - 1 (int8 127, int6 31, int5 15, int4 7, int3 3, ternary 1).
// Classes: qk (attn.c_q, attn.c_k), vo (attn.c_v, attn.proj), mlp_up (mlp.fc), mlp_down
// (mlp.proj), emb (tok_emb, lm_head), other (every other large matrix), ctrl (the control tensors,
// fp32 as the baseline or fp16 as the later records); shorthands attn = qk+vo, mlp =
// mlp_up+mlp_down, all = every matrix class. Later entries override earlier ones.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pg::io {

enum class ClipRule : uint8_t { quantile, search, sdclip, absmean };

struct QuantFormat {
    int bits = 8;            // 2..8 for integer codes (2 = ternary); 16 or 32 for float passthrough
    int64_t group = 0;       // 0: one scale per row; else elements per scale group
    ClipRule clip = ClipRule::quantile;
    float sd_k = 0;          // SDClip's k

    bool is_float() const { return bits >= 16; }
    int range() const { return (1 << (bits - 1)) - 1; }  // R: codes lie in [-R, R]
    std::string name() const;                            // "int6/g64@search", "ternary", "fp16"
    bool operator==(const QuantFormat&) const = default;
};

// Parses one format ("int5@sd12"); `context` names the setting and entry in the error.
QuantFormat parse_quant_format(std::string_view text, std::string_view context);

enum class TensorClass : uint8_t { qk, vo, mlp_up, mlp_down, emb, other, ctrl };
inline constexpr int kNumTensorClasses = 7;
std::string_view tensor_class_name(TensorClass c);  // "qk", "vo", ...

// The class of a parameter by its name (ctrl for the baseline's control-tensor names; small
// tensors are passed through whatever their class, see quantize.h).
TensorClass classify_tensor(std::string_view name);

// One format per class. The default is the baseline: int8 everywhere, controls fp32.
struct QuantPlan {
    std::array<QuantFormat, kNumTensorClasses> formats;
    QuantPlan();

    const QuantFormat& at(TensorClass c) const { return formats[static_cast<size_t>(c)]; }
    QuantFormat& at(TensorClass c) { return formats[static_cast<size_t>(c)]; }
    // "qk:int6,vo:int6,mlp_up:int5,mlp_down:int4,emb:int8,other:int8,ctrl:fp32": parses back to the
    // same plan; stored in the artifact header and submission.json.
    std::string canonical() const;
    // The scheme's short name in log lines: the matrices' common format ("int8", "int6") or "mixed".
    std::string label() const;
};

// Parses a QUANT value; "" is the default plan. Throws pg::Error naming `setting` and the bad token.
QuantPlan parse_quant_plan(std::string_view text, std::string_view setting = "QUANT");

// The QUANT setting's plan.
QuantPlan quant_plan_from_settings();

}  // namespace pg::io
