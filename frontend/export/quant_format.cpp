// Quantization formats, tensor classes and the QUANT setting (see quant_format.h).
#include "frontend/export/quant_format.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "base/env.h"
#include "base/error.h"
#include "frontend/export/quantize.h"

namespace pg::io {

namespace {

PG_KNOB({.name = "QUANT", .kind = env::KnobKind::String, .default_value = "",
         .doc = "artifact quantization per tensor class, e.g. attn:int6,mlp_up:int5,mlp_down:int4,emb:int8 "
                "(formats int8..int3, ternary, fp16, fp32, optional /gN and @q|@search|@sdK; see docs/export.md); "
                "empty = the baseline's int8"});

constexpr std::array<std::string_view, kNumTensorClasses> kClassNames = {"qk",    "vo",    "mlp_up", "mlp_down",
                                                                         "emb",   "other", "ctrl"};
constexpr std::string_view kClassHelp = "qk, vo, attn, mlp_up, mlp_down, mlp, emb, other, all, ctrl";

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

[[noreturn]] void bad_format(std::string_view text, std::string_view context, std::string_view why) {
    throw Error(fmt::format("{}: bad format '{}': {} (use int8..int3, ternary, fp16 or fp32, optionally followed "
                            "by /gN and @q, @search or @sdK, e.g. int6/g128@sd12.85)",
                            context, text, why));
}

int parse_bits(std::string_view base, std::string_view text, std::string_view context) {
    if (base == "ternary") return 2;
    if (base == "fp16") return 16;
    if (base == "fp32") return 32;
    int bits = 0;
    if (base.substr(0, 3) != "int" || !parse_number(base.substr(3), bits) || bits < 3 || bits > 8)
        bad_format(text, context, fmt::format("unknown format '{}'", base));
    return bits;
}

void parse_clip(std::string_view rule, QuantFormat& f, std::string_view text, std::string_view context) {
    if (rule == "q") f.clip = ClipRule::quantile;
    else if (rule == "search") f.clip = ClipRule::search;
    else if (rule.substr(0, 2) == "sd") {
        f.clip = ClipRule::sdclip;
        if (!parse_number(rule.substr(2), f.sd_k) || !(f.sd_k > 0) || !std::isfinite(f.sd_k))
            bad_format(text, context, fmt::format("'@{}' needs a positive number after sd", rule));
    } else {
        bad_format(text, context, fmt::format("unknown clip rule '@{}'", rule));
    }
}

std::vector<TensorClass> classes_of(std::string_view key, std::string_view entry, std::string_view setting) {
    using C = TensorClass;
    if (key == "attn") return {C::qk, C::vo};
    if (key == "mlp") return {C::mlp_up, C::mlp_down};
    if (key == "all") return {C::qk, C::vo, C::mlp_up, C::mlp_down, C::emb, C::other};
    for (size_t i = 0; i < kClassNames.size(); ++i)
        if (kClassNames[i] == key) return {static_cast<C>(i)};
    throw Error(fmt::format("{}: unknown tensor class '{}' in '{}' (use {})", setting, key, entry, kClassHelp));
}

}  // namespace

std::string QuantFormat::name() const {
    if (is_float()) return bits == 16 ? "fp16" : "fp32";
    std::string s = bits == 2 ? "ternary" : fmt::format("int{}", bits);
    if (group > 0) s += fmt::format("/g{}", group);
    if (clip == ClipRule::search) s += "@search";
    if (clip == ClipRule::sdclip) s += fmt::format("@sd{}", sd_k);
    return s;
}

QuantFormat parse_quant_format(std::string_view text, std::string_view context) {
    QuantFormat f;
    std::string_view rest = text;
    std::string_view rule;
    if (const size_t at = rest.find('@'); at != std::string_view::npos) {
        rule = rest.substr(at + 1);
        rest = rest.substr(0, at);
    }
    std::string_view group;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        group = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    f.bits = parse_bits(rest, text, context);
    if (!group.empty() || text.find('/') != std::string_view::npos) {
        if (group.substr(0, 1) != "g" || !parse_number(group.substr(1), f.group) || f.group <= 0)
            bad_format(text, context, fmt::format("'/{}' is not a group size such as /g128", group));
    }
    if (!rule.empty() || text.find('@') != std::string_view::npos) parse_clip(rule, f, text, context);
    if (f.bits == 2) {
        PG_CHECK(f.clip == ClipRule::quantile, "{}: bad format '{}': ternary always uses absmean scales, drop '@{}'",
                 context, text, rule);
        f.clip = ClipRule::absmean;
    }
    PG_CHECK(!f.is_float() || (f.group == 0 && rule.empty()),
             "{}: bad format '{}': {} is stored as is and takes no group or clip rule", context, text, rest);
    return f;
}

std::string_view tensor_class_name(TensorClass c) { return kClassNames.at(static_cast<size_t>(c)); }

TensorClass classify_tensor(std::string_view name) {
    auto has = [&](std::string_view part) { return name.find(part) != std::string_view::npos; };
    if (is_control_tensor_name(name)) return TensorClass::ctrl;
    if (has(".attn.c_q.") || has(".attn.c_k.")) return TensorClass::qk;
    if (has(".attn.c_v.") || has(".attn.proj.")) return TensorClass::vo;
    if (has(".mlp.fc.")) return TensorClass::mlp_up;
    if (has(".mlp.proj.")) return TensorClass::mlp_down;
    if (has("tok_emb") || has("lm_head")) return TensorClass::emb;
    return TensorClass::other;
}

QuantPlan::QuantPlan() { at(TensorClass::ctrl).bits = 32; }

std::string QuantPlan::canonical() const {
    std::string s;
    for (size_t i = 0; i < formats.size(); ++i)
        s += fmt::format("{}{}:{}", i ? "," : "", kClassNames[i], formats[i].name());
    return s;
}

std::string QuantPlan::label() const {
    const QuantFormat& first = at(TensorClass::qk);
    for (size_t i = 0; i < formats.size(); ++i)
        if (static_cast<TensorClass>(i) != TensorClass::ctrl && formats[i].bits != first.bits) return "mixed";
    return first.bits == 2 ? "ternary" : first.is_float() ? first.name() : fmt::format("int{}", first.bits);
}

QuantPlan parse_quant_plan(std::string_view text, std::string_view setting) {
    QuantPlan plan;
    if (text.empty()) return plan;
    for (std::string_view entry : split(text, ',')) {
        const size_t colon = entry.find(':');
        PG_CHECK(colon != std::string_view::npos && colon > 0,
                 "{}: entry '{}' is not CLASS:FORMAT (e.g. mlp_up:int5; classes {})", setting, entry, kClassHelp);
        const std::string_view key = entry.substr(0, colon);
        const std::string context = fmt::format("{} entry '{}'", setting, entry);
        const QuantFormat f = parse_quant_format(entry.substr(colon + 1), context);
        for (TensorClass c : classes_of(key, entry, setting)) {
            PG_CHECK(c != TensorClass::ctrl || f.is_float(),
                     "{}: control tensors are kept as floats: use ctrl:fp32 (the baseline) or ctrl:fp16", context);
            plan.at(c) = f;
        }
    }
    return plan;
}

QuantPlan quant_plan_from_settings() { return parse_quant_plan(env::get("QUANT")); }

}  // namespace pg::io
