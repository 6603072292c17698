// A host reference of the SGD step of test-time training (spec 2.5 method 2), for the TTT tests:
// the gradient of the model's mean loss over [rows, seq] sequences w.r.t. every weight outside
// the first `freeze` blocks comes from a plain gradient graph (no optimizer) in the caller's
// session; torch's clip_grad_norm_, SGD momentum and the learning rate are applied on the host in
// double.
#pragma once
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "frontend/export/safetensors.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"

namespace pg::reference {

class HostSgd {
public:
    HostSgd(Session& session, const GptConfig& cfg, int64_t rows, int64_t seq, int64_t freeze_blocks,
            double momentum, double clip, const io::TensorMap& start);

    // One step on `rows` sequences of `seq` tokens from stream[first_token] (targets one further).
    void step(std::span<const uint16_t> stream, int64_t first_token, double lr);
    void reset_momentum();
    const io::TensorMap& weights() const { return current_; }

private:
    ModelGraph m_;
    std::unique_ptr<Executable> exe_;
    std::vector<std::string> names_;
    int64_t rows_, seq_;
    double momentum_, clip_;
    io::TensorMap current_;
    std::map<std::string, std::vector<double>> w_, buf_;
};

}  // namespace pg::reference
