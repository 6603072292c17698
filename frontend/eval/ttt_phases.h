// The phases of phased / multi-phase global SGD test-time training (spec 2.5 methods 4 and 5,
// PR #1610 and PR #1626): the validation stream is scored in stream order; once the first n_k
// documents are fully scored (n_1 < n_2 < ... from TTT_PHASE_DOCS: "2000" is phased TTT,
// "666,1333,2000" the multi-phase form), scoring pauses and the model trains with global SGD on
// ALL the tokens scored so far, targets 1..P_k with P_k = the start (BOS) of document n_k — the
// last target of document n_k - 1. Phase k's training cuts targets 1..P_k into chunks of C tokens
// (TTT_CHUNK_TOKENS) as chunked SGD TTT does, trains every chunk but the last (floor(C/S)
// sequences of S tokens inside the chunk, lr cosine over the phase's chunks), then scoring resumes.
// A window is scored before phase k's training when its first scored target is <= P_k; each
// trained target is <= P_k and was scored by such a window, so training only sees scored tokens.
//
// The records' form scores with batched LoRA TTT (method 3) instead of the sliding window: the
// documents go in queue order (the LoRA batches' order, longest first, lora_plan.h); phase k runs
// once the batch holding the n_k-th queue document has been scored, and trains on the first n_k
// queue documents, concatenated (each begins with its BOS) — all of them already scored; documents
// after them in the same batch were scored too and are simply not used (PR #1610's rule: "the
// global SGD uses only the first `boundary` docs").
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "frontend/eval/documents.h"
#include "frontend/eval/lora_plan.h"
#include "frontend/eval/window_plan.h"

namespace pg::eval {

struct TttPhase {
    size_t end_window = 0;    // windows [previous phase's end_window, end_window) are scored before it trains
    int64_t last_target = 0;  // P_k: it trains on targets 1..P_k
};

// "n1,n2,..." strictly increasing positive document counts; pg::Error naming TTT_PHASE_DOCS.
std::vector<int64_t> parse_phase_docs(std::string_view list);

// The phases reached by the stream's documents (a boundary at or past the last document is
// dropped: every token is scored by then). The windows of `plan` must be in stream order.
std::vector<TttPhase> plan_ttt_phases(const WindowPlan& plan, const std::vector<DocSpan>& docs,
                                      const std::vector<int64_t>& phase_docs);

struct LoraPhase {
    size_t after_batch = 0;     // it runs once batches 0..after_batch are scored
    std::vector<DocSpan> docs;  // what it trains on: the first n_k queue documents, in queue order
};

// The phases of the LoRA-scored form (a boundary at or past the last document is dropped).
std::vector<LoraPhase> plan_lora_phases(const std::vector<LoraBatch>& batches, const std::vector<int64_t>& phase_docs);

// The documents' tokens one after another.
std::vector<uint16_t> concat_documents(std::span<const uint16_t> stream, const std::vector<DocSpan>& docs);

}  // namespace pg::eval
