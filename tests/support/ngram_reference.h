// Plain reference implementations of the n-gram evaluation methods, written from pgolf-spec 4.7
// and the formulas in frontend/eval/ngram_tilt.h / ngram_mix.h without hash tables: every count is
// recomputed at each target by scanning the targets scored before it. O(N^2); for tests only.
#pragma once
#include <cstdint>
#include <span>

#include "frontend/eval/ngram_mix.h"
#include "frontend/eval/ngram_tilt.h"

namespace pg::reference {

// Loss (nats) of target stream[t] (t >= 1) under the method, given the model's log-probs at t.
double tilt_loss(std::span<const uint16_t> stream, int64_t t, std::span<const float> model_log_probs,
                 const eval::TiltConfig& cfg);
double mix_loss(std::span<const uint16_t> stream, int64_t t, std::span<const float> model_log_probs,
                const eval::MixConfig& cfg);

}  // namespace pg::reference
