// The order in which the physical layers run (depth recurrence, pgolf-spec §4.1): [0, s) then
// [s, e] repeated NUM_LOOPS + 1 times then (e, L); the first half of that sequence is the U-Net
// encoder, the rest the decoder, with skips over min(encoder, decoder) positions.
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

}  // namespace pg
