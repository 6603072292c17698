// Evaluator: the model's forward pass compiled for [rows, seq_len] windows, run over a window plan
// of the validation stream (the baseline's non-overlapping sequences or the sliding window) and
// accumulated into val_loss / val_bpb exactly as the challenge does. Its weights are the session's
// (shared with the training step's graphs when they run in the same session: evaluating during
// training copies nothing).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "frontend/data/validation.h"
#include "frontend/eval/bpb.h"
#include "frontend/eval/byte_luts.h"
#include "frontend/eval/window_plan.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"

namespace pg {

class Evaluator {
public:
    Evaluator(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session);

    // Copies model weights into the session (names as in the ParamSet; extra entries such as
    // optimizer state are ignored; a missing weight is a pg::Error).
    void set_weights(const std::map<std::string, HostTensor>& weights);

    // Called after each batch with (batches done, batches in all): a progress line.
    using OnBatch = std::function<void(int64_t, int64_t)>;

    // Runs every window of `plan` (this rank's share) and accumulates the scored targets.
    eval::BpbAccumulator evaluate(const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                  const eval::ByteLuts& luts, int rank = 0, int world_size = 1,
                                  const OnBatch& on_batch = {});

    int64_t rows() const { return rows_; }
    int64_t seq_len() const { return seq_len_; }
    const ParamSet& params() const { return *model_.params; }

private:
    ModelGraph model_;
    std::unique_ptr<Executable> exe_;
    HostTensor ids_, targets_;
    int64_t rows_, seq_len_;
};

}  // namespace pg
