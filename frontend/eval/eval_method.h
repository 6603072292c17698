// Evaluation methods: how the validation stream is scored. Each has a name (the EVAL_METHOD
// setting, `pgolf eval --methods`), a window plan and, for the methods that reweight the model's
// distribution, a TargetScorer fed the model's log-probabilities at every scored position.
//   baseline       non-overlapping windows of the window length (spec 2.3)
//   sliding        the sliding window of EVAL_STRIDE (spec 2.4; EVAL_STRIDE=0: stride = window)
//   ngram_tilt     sliding + the causal normalised n-gram token tilt (ngram_tilt.h, spec 4.7)
//   ngram_mix      sliding + the normalised n-gram mixture (ngram_mix.h)
//   ttt_sgd        sliding + score-first chunked full-model SGD test-time training (spec 2.5
//                  method 2; frontend/train/ttt_sgd.h)
//   ttt_phased     batched LoRA TTT (or sliding: TTT_PHASE_SCORING) + phased / multi-phase global
//                  SGD on the scored documents at boundaries (spec 2.5 methods 4-5; ttt_phased.h)
//   ttt_lora_doc   per-document LoRA TTT (spec 2.5 method 1; frontend/train/ttt_lora.h)
//   ttt_lora_batch document-independent batched LoRA TTT (spec 2.5 method 3)
//   ttt_pre_eval   AdamW on the whole stream first (#1539 lineage), then sliding: NOT LEGAL (pre-eval TTT)
//   backoff_cache  sliding + PR #376's unnormalised backoff cache (backoff_cache.h): NOT LEGAL
//   slot           sliding + PR #1456's SLOT delta fitted on the scored windows
//                  (frontend/train/slot.h): NOT LEGAL
// An illegal method runs only with NON_RECORD=1, prints a warning naming the rule it breaks, and
// its result is marked non-record (in the log and in submission.json).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/eval/target_scorer.h"
#include "frontend/eval/window_plan.h"

namespace pg::eval {

enum class MethodKind { Baseline, Sliding, NgramTilt, NgramMix, TttSgd, TttPhased, TttLoraDoc, TttLoraBatch, TttPreEval,
                        BackoffCache, Slot };

struct EvalMethod {
    MethodKind kind;
    std::string_view name;
    std::string_view rule_broken;  // empty for a legal method
    bool legal() const { return rule_broken.empty(); }
    bool uses_scorer() const {
        return kind == MethodKind::NgramTilt || kind == MethodKind::NgramMix || kind == MethodKind::BackoffCache;
    }
};

const std::vector<EvalMethod>& eval_methods();

// The method of that name; pg::Error listing the names otherwise.
const EvalMethod& find_eval_method(std::string_view name);

// "a,b,c" -> methods; "all" -> every method (the illegal ones only when NON_RECORD=1).
std::vector<EvalMethod> parse_eval_methods(std::string_view list);

// EVAL_METHOD: the method of the trainer's final (round-trip) score.
const EvalMethod& configured_eval_method();

// NON_RECORD=1: the user accepts a non-record result.
bool non_record_allowed();

// For an illegal method: pg::Error naming NON_RECORD and the rule unless NON_RECORD=1, else the
// warning line to print. For a legal one: "".
std::string check_eval_method_allowed(const EvalMethod& m);

// The method's windows over a stream of num_tokens tokens. pg::Error naming EVAL_STRIDE when the
// stride is larger than the window.
WindowPlan plan_eval_windows(const EvalMethod& m, int64_t num_tokens, int64_t seq_len, int64_t stride);

// A fresh scorer (tables empty) configured from the settings; null for the methods without one.
std::unique_ptr<TargetScorer> make_target_scorer(const EvalMethod& m);

}  // namespace pg::eval
