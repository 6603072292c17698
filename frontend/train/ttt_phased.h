// Phased / multi-phase global SGD test-time training (spec 2.5 methods 4 and 5; the phases and
// their legality in frontend/eval/ttt_phases.h), score-first and on the backend. Between phases
// the stream is scored (TTT_PHASE_SCORING) either as the records do, by batched LoRA TTT (method
// 3, the LORA_TTT_* settings; lora, the default), or by the sliding window of the base model in
// stream order (sliding). At each phase boundary a TttSgdTrainer compiled in the same session
// (same weight buffers, so the scorer sees the trained weights) trains the weights on the
// documents scored so far — TTT_PHASE_EPOCHS SGD steps per chunk of TTT_CHUNK_TOKENS, the last
// chunk skipped, lr cosine over the phase's chunks from TTT_PHASE_LR, momentum TTT_MOMENTUM
// (restarted at zero each phase), clip TTT_GRAD_CLIP, the first TTT_FREEZE_BLOCKS blocks frozen.
// In the LoRA-scored form the phases' SGD runs with document-masked attention (ATTN_DOC_MASK's
// VarLen attention, as the records): each concatenated document attends to itself only, as the
// LoRA scoring saw it. The sliding form trains as the sliding window scores, across documents.
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/window_plan.h"
#include "frontend/train/ttt_lora.h"
#include "frontend/train/ttt_sgd.h"

namespace pg {

class Evaluator;
class Session;

enum class PhaseScoring { Lora, Sliding };

struct TttPhasedConfig {
    TttSgdConfig sgd;                 // chunk_tokens, momentum, clip, frozen blocks; lr and epochs per phase:
    std::vector<int64_t> phase_docs;  // cumulative document counts of the boundaries
    PhaseScoring scoring = PhaseScoring::Lora;
};

// From TTT_PHASE_DOCS, TTT_PHASE_LR, TTT_PHASE_EPOCHS, TTT_PHASE_SCORING and the ttt_sgd settings.
TttPhasedConfig ttt_phased_config_from_settings();

// Scores every window of `plan` (in stream order) with phased training; `ev` holds the starting
// weights (changed by the training). on_window_batch(done, total) after each batch of windows.
eval::BpbAccumulator evaluate_ttt_phased(Evaluator& ev, Session& session, const GptConfig& model,
                                         const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                         const eval::ByteLuts& luts, uint16_t bos_id, const TttPhasedConfig& cfg,
                                         const std::function<void(int64_t, int64_t)>& on_phase);

// The LoRA-scored form: every target of the stream scored by batched LoRA TTT over `weights`
// (set into the session here), with the phases' global SGD on sequences of seq_len tokens between
// batches. target_losses and on_batch as evaluate_ttt_lora.
TttLoraResult evaluate_ttt_phased_lora(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                       int64_t seq_len, std::span<const uint16_t> stream, const eval::ByteLuts& luts,
                                       uint16_t bos_id, const LoraTttConfig& lora, const TttPhasedConfig& cfg,
                                       std::vector<float>* target_losses,
                                       const std::function<void(int64_t, int64_t)>& on_batch);

}  // namespace pg
