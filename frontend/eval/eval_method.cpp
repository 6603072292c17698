// Evaluation methods and their settings (see eval_method.h).
#include "frontend/eval/eval_method.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/env.h"
#include "base/error.h"
#include "frontend/eval/backoff_cache.h"
#include "frontend/eval/ngram_mix.h"
#include "frontend/eval/ngram_tilt.h"

namespace pg::eval {

using env::KnobKind;

PG_KNOB({.name = "EVAL_METHOD", .kind = KnobKind::String, .default_value = "sliding",
         .doc = "evaluation method of the final round-trip score: baseline, sliding, ngram_tilt, ngram_mix, "
                "ttt_sgd, ttt_phased, ttt_lora_doc, ttt_lora_batch; ttt_pre_eval, backoff_cache and slot "
                "(non-record)",
         .choices = {"baseline", "sliding", "ngram_tilt", "ngram_mix", "ttt_sgd", "ttt_phased", "ttt_lora_doc",
                     "ttt_lora_batch", "ttt_pre_eval", "backoff_cache", "slot"}});
PG_KNOB({.name = "NON_RECORD", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "allow evaluation methods that break the challenge's rules; results are marked non-record"});
PG_KNOB({.name = "TILT_MIN_ORDER", .kind = KnobKind::Int, .default_value = "8",
         .doc = "ngram_tilt: shortest context (tokens); orders min, min+2, ..., TILT_MAX_ORDER"});
PG_KNOB({.name = "TILT_MAX_ORDER", .kind = KnobKind::Int, .default_value = "16",
         .doc = "ngram_tilt: longest context (tokens)"});
PG_KNOB({.name = "TILT_BETA", .kind = KnobKind::Float, .default_value = "2.0",
         .doc = "ngram_tilt: base beta; the tilt is beta * confidence"});
PG_KNOB({.name = "TILT_THRESHOLD", .kind = KnobKind::Float, .default_value = "0.5",
         .doc = "ngram_tilt: confidence (hint count / context count) needed for a hint"});
PG_KNOB({.name = "TILT_MIN_COUNT", .kind = KnobKind::Int, .default_value = "2",
         .doc = "ngram_tilt: times the hint must have followed its context"});
PG_KNOB({.name = "NGRAM_MIX_ORDER", .kind = KnobKind::Int, .default_value = "4",
         .doc = "ngram_mix: longest context (tokens) of the interpolated n-gram model"});
PG_KNOB({.name = "NGRAM_MIX_CONCENTRATION", .kind = KnobKind::Float, .default_value = "2.0",
         .doc = "ngram_mix: smoothing of each order towards the next lower one"});
PG_KNOB({.name = "NGRAM_MIX_ALPHA_MIN", .kind = KnobKind::Float, .default_value = "0.05",
         .doc = "ngram_mix: weight of the n-gram model at low model entropy"});
PG_KNOB({.name = "NGRAM_MIX_ALPHA_SPAN", .kind = KnobKind::Float, .default_value = "0.55",
         .doc = "ngram_mix: extra weight at high model entropy (alpha = min + span * sigmoid(2 (H - 4)))"});

const std::vector<EvalMethod>& eval_methods() {
    static const std::vector<EvalMethod> methods = {
        {MethodKind::Baseline, "baseline", ""},
        {MethodKind::Sliding, "sliding", ""},
        {MethodKind::NgramTilt, "ngram_tilt", ""},
        {MethodKind::NgramMix, "ngram_mix", ""},
        {MethodKind::TttSgd, "ttt_sgd", ""},
        {MethodKind::TttPhased, "ttt_phased", ""},
        {MethodKind::TttLoraDoc, "ttt_lora_doc", ""},
        {MethodKind::TttLoraBatch, "ttt_lora_batch", ""},
        {MethodKind::TttPreEval, "ttt_pre_eval",
         "issue #1017 condition 3 (score before update) and the ban on pre-eval TTT (issues #402, #1082): it "
         "trains on the validation tokens before scoring them"},
        {MethodKind::BackoffCache, "backoff_cache",
         "issue #1017 condition 2 (a full normalised distribution): the cache's probabilities do not sum to 1 "
         "and its order is chosen by the target token"},
        {MethodKind::Slot, "slot",
         "issue #1017 conditions 1 and 3 (causality, score before update): SLOT fits its delta on the very "
         "tokens it then scores (PR #1240 measured the leak)"},
    };
    return methods;
}

const EvalMethod& find_eval_method(std::string_view name) {
    std::string names;
    for (const EvalMethod& m : eval_methods()) {
        if (m.name == name) return m;
        names += fmt::format("{}{}", names.empty() ? "" : ", ", m.name);
    }
    throw Error(fmt::format("unknown evaluation method '{}'; the methods are: {}, all", name, names));
}

std::vector<EvalMethod> parse_eval_methods(std::string_view list) {
    std::vector<EvalMethod> out;
    if (list == "all") {
        for (const EvalMethod& m : eval_methods())
            if (m.legal() || non_record_allowed()) out.push_back(m);
        return out;
    }
    for (size_t pos = 0; pos <= list.size();) {
        size_t comma = std::min(list.find(',', pos), list.size());
        out.push_back(find_eval_method(list.substr(pos, comma - pos)));
        pos = comma + 1;
    }
    return out;
}

const EvalMethod& configured_eval_method() { return find_eval_method(env::get("EVAL_METHOD")); }

bool non_record_allowed() { return env::get_bool("NON_RECORD"); }

std::string check_eval_method_allowed(const EvalMethod& m) {
    if (m.legal()) return "";
    PG_CHECK(non_record_allowed(),
             "evaluation method {} breaks {}; it runs only with NON_RECORD=1 and its score is not a record", m.name,
             m.rule_broken);
    return fmt::format("WARNING: {} is not a legal evaluation: it breaks {}. The result is NON-RECORD.", m.name,
                       m.rule_broken);
}

WindowPlan plan_eval_windows(const EvalMethod& m, int64_t num_tokens, int64_t seq_len, int64_t stride) {
    if (m.kind == MethodKind::Baseline) return plan_baseline_windows(num_tokens, seq_len);
    PG_CHECK(stride <= seq_len,
             "EVAL_STRIDE={} is larger than the evaluation window of {} tokens (EVAL_SEQ_LEN, or TRAIN_SEQ_LEN when "
             "it is 0): windows would skip targets; use a stride of at most {} (or 0 for non-overlapping windows)",
             stride, seq_len, seq_len);
    return plan_sliding_windows(num_tokens, seq_len, stride > 0 ? stride : seq_len);
}

std::unique_ptr<TargetScorer> make_target_scorer(const EvalMethod& m) {
    switch (m.kind) {
        case MethodKind::Baseline:
        case MethodKind::Sliding:
        case MethodKind::TttSgd:
        case MethodKind::TttPhased:
        case MethodKind::TttLoraDoc:
        case MethodKind::TttLoraBatch:
        case MethodKind::Slot:
        case MethodKind::TttPreEval: return nullptr;
        case MethodKind::NgramTilt:
            return std::make_unique<TiltScorer>(TiltConfig{
                .min_order = static_cast<int>(env::get_int("TILT_MIN_ORDER")),
                .max_order = static_cast<int>(env::get_int("TILT_MAX_ORDER")),
                .base_beta = env::get_float("TILT_BETA"),
                .threshold = env::get_float("TILT_THRESHOLD"),
                .min_count = static_cast<uint32_t>(std::max<int64_t>(env::get_int("TILT_MIN_COUNT"), 1))});
        case MethodKind::NgramMix:
            return std::make_unique<MixScorer>(MixConfig{
                .max_order = static_cast<int>(env::get_int("NGRAM_MIX_ORDER")),
                .concentration = env::get_float("NGRAM_MIX_CONCENTRATION"),
                .alpha_min = env::get_float("NGRAM_MIX_ALPHA_MIN"),
                .alpha_span = env::get_float("NGRAM_MIX_ALPHA_SPAN")});
        case MethodKind::BackoffCache: return std::make_unique<BackoffCacheScorer>();
    }
    PG_UNREACHABLE();
}

}  // namespace pg::eval
