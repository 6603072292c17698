// TargetScorer: an evaluation method that turns the model's distribution at a scored position into
// the distribution actually scored (an n-gram tilt or mixture, spec 4.7). Legal by construction
// (issue #1017's conditions): predict() sees only the tokens before the target and the model's
// distribution there, never the target; log_prob(v) is then the scored distribution's value at any
// token v; observe() hands the scored target over afterwards, so tables grow only from tokens
// already scored. The evaluator calls predict, log_prob(target), observe once per scored target,
// in stream order.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "frontend/eval/window_plan.h"

namespace pg::eval {

class TargetScorer {
public:
    virtual ~TargetScorer() = default;

    // Prepares the distribution for the target that follows `past` (stream tokens [0, t)), given
    // the model's log-probabilities over the vocabulary at that position.
    virtual void predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) = 0;

    // ln p'(token) of the distribution prepared by the last predict().
    virtual double log_prob(int64_t token) const = 0;

    // The target after `past` was scored: what the method may learn from it.
    virtual void observe(std::span<const uint16_t> past, uint16_t target) = 0;

    // True when p' sums to 1 over the vocabulary (condition 2); the flagged illegal forms say false.
    virtual bool normalised() const { return true; }
};

// The losses (nats) of a window's scored targets under `scorer`, in stream order: for each,
// predict from the tokens before it and the model's row of `log_probs` (the window's rows of
// `vocab` log-probabilities, one per position), score, then observe.
std::vector<float> scorer_losses(TargetScorer& scorer, const EvalWindow& window, std::span<const float> log_probs,
                                 int64_t vocab, std::span<const uint16_t> stream);

}  // namespace pg::eval
