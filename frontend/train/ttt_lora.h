// Document-isolated LoRA test-time training, score-first and on the backend (spec 2.5):
//   ttt_lora_doc    per-document LoRA TTT (method 1, the 03-17 LoRA TTT record): rank-8 adapters
//                   on the head, Q and V; chunks of 256 targets in <= 1024-token windows; Adam
//                   (lr 0.01, betas 0.9/0.95, eps 1e-10); adapters reset for every document.
//   ttt_lora_batch  document-independent batched LoRA TTT (method 3, PR #1530, with PR #1767's
//                   alpha/r = 144/96 scaling): rank-96 adapters on Q, K, V, O, MLP and the head;
//                   chunks of 32 in <= 2048-token windows; AdamW (lr 1e-4, betas 0/0.999, eps 1e-10,
//                   wd 0.5); B zeroed and A re-drawn per batch (LORA_TTT_RESET=b keeps A: #1767's
//                   warm start).
// Both: documents by BOS, longest first in batches of LORA_TTT_BATCH_DOCS (64), one adapter set
// per row (frontend/eval/lora_plan.h); at each step every row's chunk is scored with the row's
// current adapters, then one Adam step on the sum over rows of each row's mean chunk loss (so each
// document's adapters follow the gradient of its own mean) — both in one run of the adapter step
// graph (adapter_step.h) compiled over the model's frozen weights. The LORA_TTT_* settings override
// the method's defaults (an empty value keeps it).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/eval/byte_luts.h"
#include "frontend/export/safetensors.h"
#include "frontend/optim/adam.h"
#include "frontend/train/step_graphs.h"

namespace pg {

class Session;

struct LoraTttConfig {
    std::vector<std::string> targets;
    int64_t rank = 8;
    double alpha = 0;  // 0: scale 1; else alpha / rank
    int64_t chunk = 256, context = 1024, batch_docs = 64;
    double lr = 0.01;
    AdamConfig adam;
    bool redraw_a = true;  // false: only B (and the optimizer state) reset between batches
    uint64_t seed = 1;

    double scale() const { return alpha > 0 ? alpha / static_cast<double>(rank) : 1.0; }
};

LoraTttConfig lora_doc_defaults();    // method 1
LoraTttConfig lora_batch_defaults();  // method 3
// The method's defaults with the LORA_TTT_* settings applied; pg::Error naming a bad setting
// (LORA_TTT_RANK=0 among them).
LoraTttConfig lora_ttt_config_from_settings(bool batched);

// The values LoRA A [rows, in, rank] of adapter `name` starts from in batch `batch`:
// U(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's default), drawn from (seed, batch, name).
HostTensor lora_a_init(uint64_t seed, int64_t batch, const std::string& name, const Shape& shape);

struct TttLoraResult {
    eval::BpbAccumulator acc;
    int64_t windows = 0;               // (document, chunk) windows scored
    std::vector<int64_t> target_step;  // with target_losses: each target's step (batches' steps counted on)
};

// Scores every target of the stream; `weights` are set into the session's model weights once,
// before the first batch (this function never changes them; ttt_phased trains them between
// batches). When target_losses is set, (*target_losses)[t] = target t's loss. after_batch(done,
// batches) runs after each batch: a progress display, or ttt_phased's training.
TttLoraResult evaluate_ttt_lora(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                std::span<const uint16_t> stream, const eval::ByteLuts& luts, uint16_t bos_id,
                                const LoraTttConfig& cfg, std::vector<float>* target_losses,
                                const std::function<void(int64_t, int64_t)>& after_batch);

}  // namespace pg
