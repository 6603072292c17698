// One evaluation method (frontend/eval/eval_method.h) run on a model's weights over the validation
// stream: its window plan, an Evaluator compiled in the given session for that plan (with the
// model's distribution as an output when the method reweights it), its scorer, the score, the
// evaluation time and, on request, every scored target's loss. `pgolf eval` runs it per method and
// the trainer's final round-trip score runs EVAL_METHOD through it.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/eval_method.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/progress.h"
#include "frontend/train/step_graphs.h"

namespace pg {

class Session;
namespace comm {
class Communicator;
}

struct MethodEvalSetup {
    GptConfig model;
    int64_t seq_len = 0;    // the window length
    int64_t stride = 0;     // EVAL_STRIDE (0: non-overlapping)
    int64_t max_rows = 1;   // windows per batch at most
    bool record_losses = false;
    // Under several ranks, the plain methods (no scorer, no TTT, no loss file) split their windows
    // across `world` and all-reduce the fp64 sums; the others run whole on every rank.
    comm::Communicator* world = nullptr;
    // The token that starts every document (spec 1.1; the sp tokenizers' <s> is 1), for the
    // methods that find documents.
    uint16_t bos_id = 1;
};

struct MethodResult {
    eval::BpbAccumulator acc;
    double eval_ms = 0;
    int64_t windows = 0;
    bool non_record = false;
    std::vector<float> target_losses;  // [stream length], NaN where unscored; when record_losses
    // When record_losses and the method scores out of stream order (the LoRA methods go through
    // documents longest first): [stream length], the scoring step of each target (the targets of
    // one step are scored together). Empty: stream order. Causality holds in this order.
    std::vector<int64_t> target_order;
};

// Checks the method's settings for a stream of num_tokens tokens without compiling anything:
// pg::Error for an illegal method without NON_RECORD=1, a stride larger than the window, a TTT
// chunk smaller than a window, ... (the trainer calls it before training).
void check_method_settings(const eval::EvalMethod& method, const MethodEvalSetup& setup, int64_t num_tokens);

// Throws pg::Error for an illegal method without NON_RECORD=1 (before compiling anything);
// otherwise logs its warning through `log` first.
MethodResult evaluate_method(const eval::EvalMethod& method, const MethodEvalSetup& setup, const io::TensorMap& weights,
                             Session& session, std::span<const uint16_t> stream, const eval::ByteLuts& luts,
                             ProgressLine& progress, const std::function<void(const std::string&)>& log);

// "<name> val_loss:... val_bpb:... windows:... scored:... eval_time:...ms[ NON-RECORD]"
std::string format_method_result(const eval::EvalMethod& method, const MethodResult& r);

}  // namespace pg
