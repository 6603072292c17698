// Training batches for tests: random tokens from a skewed distribution (token = floor(V * u^3)),
// which a unigram model can learn, so a working training step must bring the loss well below
// ln V within a few dozen steps. `distinct` fixed steps repeat.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "frontend/train/step_runner.h"

namespace pg::testing {

class SkewedBatches {
public:
    // Steps of `micro_steps` micro-batches of [rows, seq_len] tokens.
    SkewedBatches(int64_t micro_steps, int64_t rows, int64_t seq_len, int64_t vocab, int distinct, uint64_t seed)
        : micro_steps_(micro_steps), rows_(rows), seq_len_(seq_len) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> u(0, 1);
        for (int64_t i = 0; i < distinct * micro_steps_; ++i) {
            std::vector<int32_t> t(static_cast<size_t>(rows_ * (seq_len + 1)));
            for (int32_t& x : t) x = static_cast<int32_t>(std::floor(static_cast<double>(vocab) * std::pow(u(rng), 3.0)));
            tokens_.push_back(std::move(t));
        }
    }

    // Micro-batch `micro` of step `step`: row r's ids are its tokens [0, T), targets [1, T].
    void fill(int64_t step, int64_t micro, HostTensor& ids, HostTensor& targets) const {
        size_t distinct = tokens_.size() / static_cast<size_t>(micro_steps_);
        const std::vector<int32_t>& t =
            tokens_[(static_cast<size_t>(step) % distinct) * static_cast<size_t>(micro_steps_) + static_cast<size_t>(micro)];
        auto* id = reinterpret_cast<int32_t*>(ids.data());
        auto* tg = reinterpret_cast<int32_t*>(targets.data());
        for (int64_t r = 0; r < rows_; ++r)
            for (int64_t c = 0; c < seq_len_; ++c) {
                id[r * seq_len_ + c] = t[static_cast<size_t>(r * (seq_len_ + 1) + c)];
                tg[r * seq_len_ + c] = t[static_cast<size_t>(r * (seq_len_ + 1) + c + 1)];
            }
    }

    StepRunner::BatchSource source(int64_t step) const {
        return [this, step](int64_t micro, HostTensor& ids, HostTensor& targets) { fill(step, micro, ids, targets); };
    }

private:
    int64_t micro_steps_, rows_, seq_len_;
    std::vector<std::vector<int32_t>> tokens_;
};

}  // namespace pg::testing
