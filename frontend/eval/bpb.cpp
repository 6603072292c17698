// val_loss / val_bpb accumulation in float64 (see bpb.h).
#include "frontend/eval/bpb.h"

#include <cmath>
#include <numbers>

#include "base/error.h"

namespace pg::eval {

void BpbAccumulator::add(double loss_sum_nats, int64_t tokens, int64_t bytes) {
    loss_sum_ += loss_sum_nats;
    tokens_ += static_cast<double>(tokens);
    bytes_ += static_cast<double>(bytes);
}

void BpbAccumulator::add_targets(std::span<const float> losses, std::span<const uint16_t> stream,
                                 int64_t first_target, const ByteLuts& luts) {
    const auto n = static_cast<int64_t>(losses.size());
    if (n == 0) return;
    double loss = 0;
    for (float l : losses) loss += static_cast<double>(l);
    add(loss, n, sum_target_bytes(stream, luts, first_target, first_target + n));
}

void BpbAccumulator::merge(const BpbAccumulator& other) {
    loss_sum_ += other.loss_sum_;
    tokens_ += other.tokens_;
    bytes_ += other.bytes_;
}

BpbAccumulator BpbAccumulator::from_sums(const std::array<double, 3>& sums) {
    BpbAccumulator a;
    a.loss_sum_ = sums[0];
    a.tokens_ = sums[1];
    a.bytes_ = sums[2];
    return a;
}

double BpbAccumulator::val_loss() const {
    PG_CHECK(tokens_ > 0, "no validation token was scored: the validation split is empty");
    return loss_sum_ / tokens_;
}

double BpbAccumulator::val_bpb() const {
    PG_CHECK(bytes_ > 0, "the scored validation tokens cover no byte; the byte tables or data are wrong");
    const double bits_per_token = val_loss() / std::numbers::ln2;
    return bits_per_token * (tokens_ / bytes_);
}

}  // namespace pg::eval
