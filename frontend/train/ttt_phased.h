// Phased / multi-phase global SGD test-time training (spec 2.5 methods 4 and 5; the phases and
// their legality in frontend/eval/ttt_phases.h), score-first and on the backend: the sliding
// window scores the stream in order with an Evaluator; at each phase boundary a TttSgdTrainer
// compiled in the same session (same weight buffers) trains the weights on every token scored
// so far — TTT_PHASE_EPOCHS SGD steps per chunk of TTT_CHUNK_TOKENS, the last chunk skipped, lr
// cosine over the phase's chunks from TTT_PHASE_LR, momentum TTT_MOMENTUM (restarted at zero
// each phase), clip TTT_GRAD_CLIP, the first TTT_FREEZE_BLOCKS blocks frozen — and the adapted
// weights score the rest. The records run this between LoRA batches (method 3); here the
// scoring between phases is the sliding window of the base model.
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/window_plan.h"
#include "frontend/train/ttt_sgd.h"

namespace pg {

class Evaluator;
class Session;

struct TttPhasedConfig {
    TttSgdConfig sgd;                 // chunk_tokens, momentum, clip, frozen blocks; lr and epochs per phase:
    std::vector<int64_t> phase_docs;  // cumulative document counts of the boundaries
};

// From TTT_PHASE_DOCS, TTT_PHASE_LR, TTT_PHASE_EPOCHS and the ttt_sgd settings.
TttPhasedConfig ttt_phased_config_from_settings();

// Scores every window of `plan` (in stream order) with phased training; `ev` holds the starting
// weights (changed by the training). on_window_batch(done, total) after each batch of windows.
eval::BpbAccumulator evaluate_ttt_phased(Evaluator& ev, Session& session, const GptConfig& model,
                                         const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                         const eval::ByteLuts& luts, uint16_t bos_id, const TttPhasedConfig& cfg,
                                         const std::function<void(int64_t, int64_t)>& on_phase);

}  // namespace pg
