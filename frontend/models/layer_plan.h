// The order in which the physical layers run (depth recurrence, pgolf-spec §4.1): [0, s) then
// [s, e] repeated NUM_LOOPS + 1 times then (e, L); the first half of that sequence is the U-Net
// encoder, the rest the decoder, with skips over min(encoder, decoder) positions. Before the loop
// is switched on (ENABLE_LOOPING_AT) the layers run once each.
#pragma once
#include <cstdint>
#include <vector>

#include "frontend/models/gpt.h"

namespace pg {

struct LayerPlan {
    std::vector<int64_t> order;  // physical layer of each virtual layer
    int64_t n_encoder() const { return static_cast<int64_t>(order.size()) / 2; }
    int64_t n_decoder() const { return static_cast<int64_t>(order.size()) - n_encoder(); }
    int64_t n_skips() const { return n_encoder() < n_decoder() ? n_encoder() : n_decoder(); }
};

// Throws pg::Error naming LOOP_START / LOOP_END / NUM_LOOPS when the loop lies outside the model.
LayerPlan plan_layers(const GptConfig& cfg);

// The order this graph runs: plan_layers(cfg), or each layer once when cfg.looping is off (the
// records' forward before the loop is enabled: encoder 0..L/2−1, decoder the rest).
LayerPlan active_layers(const GptConfig& cfg);

}  // namespace pg
