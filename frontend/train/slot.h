// SLOT as PR #1456 ran it (Sample-specific LM Optimisation at Test-time, arXiv 2505.12392; spec
// 4.7) — NOT LEGAL, for reproducing its numbers only (method `slot`, NON_RECORD=1): for each batch
// of sliding windows, the network frozen, an additive delta d in R^{1x1xd} on the final hidden
// states (the normalised input of the output head: logits = (h + d) E^T) starts at zero and takes
// SLOT_STEPS AdamW steps (lr SLOT_LR, betas 0.9/0.999, eps 1e-8, wd 0.01: torch's AdamW
// defaults) on the mean cross-entropy of the batch's scored targets; the same targets are then
// scored with h + d. The delta is fitted on the very tokens it scores (issue #1017 conditions 1
// and 3; PR #1240 measured the leak). One run of the adapter step graph (adapter_step.h) per step;
// the scoring run is step SLOT_STEPS + 1's forward pass.
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/byte_luts.h"
#include "frontend/eval/window_plan.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/step_graphs.h"

namespace pg {

class Session;

struct SlotConfig {
    int64_t steps = 5;
    double lr = 0.003;
};

SlotConfig slot_config_from_settings();  // SLOT_STEPS, SLOT_LR

// Scores every window of `plan`, `rows` windows per batch; `weights` are never changed.
eval::BpbAccumulator evaluate_slot(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                   const eval::WindowPlan& plan, int64_t rows, std::span<const uint16_t> stream,
                                   const eval::ByteLuts& luts, const SlotConfig& cfg,
                                   std::vector<float>* target_losses,
                                   const std::function<void(int64_t, int64_t)>& on_batch);

}  // namespace pg
