// BpbAccumulator: val_loss and val_bpb as the challenge computes them (spec 2.1). Loss sum, token
// count and byte count are float64 sums; ranks combine theirs with a SUM all-reduce of sums().
//   val_loss = loss_sum / tokens                       (nats per token)
//   val_bpb  = (val_loss / ln 2) * (tokens / bytes)    (= sum of -log2 p over bytes)
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "frontend/eval/byte_luts.h"

namespace pg::eval {

class BpbAccumulator {
public:
    // Adds a batch: its summed loss in nats (e.g. mean CE * token count), tokens and bytes.
    void add(double loss_sum_nats, int64_t tokens, int64_t bytes);

    // Adds scored targets: losses[j] is the loss (nats) of the target at stream position
    // first_target + j, whose bytes come from the tables and the token before it.
    void add_targets(std::span<const float> losses, std::span<const uint16_t> stream, int64_t first_target,
                     const ByteLuts& luts);

    void merge(const BpbAccumulator& other);

    // {loss_sum, tokens, bytes}: the three numbers to all-reduce (SUM) across ranks.
    std::array<double, 3> sums() const { return {loss_sum_, tokens_, bytes_}; }
    static BpbAccumulator from_sums(const std::array<double, 3>& sums);

    double loss_sum() const { return loss_sum_; }
    double tokens() const { return tokens_; }
    double bytes() const { return bytes_; }

    // pg::Error when nothing (or no byte) was scored.
    double val_loss() const;
    double val_bpb() const;

private:
    double loss_sum_ = 0;
    double tokens_ = 0;
    double bytes_ = 0;
};

}  // namespace pg::eval
