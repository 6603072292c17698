// The scoring schedule of document-isolated LoRA test-time training (spec 2.5 methods 1 and 3):
// documents (documents.h) sorted by length, longest first (ties in stream order), go in batches of
// D; each document of a batch has its own row (and its own adapters). A document's targets are cut
// into chunks of C; at step s every row holds chunk s of its document as an EvalWindow whose
// inputs are the last <= W tokens of the document before the chunk's last target (the window ends
// at the chunk's end, starts no earlier than the document's BOS) and whose scored positions are the
// chunk's targets. A row whose document has fewer chunks holds an empty window (length 0). After
// scoring step s, a row trains on its chunk unless it is the document's last chunk. Every target
// is scored once, from its own document's earlier tokens and the adapters trained on its earlier
// chunks only.
#pragma once
#include <cstdint>
#include <vector>

#include "frontend/eval/documents.h"
#include "frontend/eval/window_plan.h"

namespace pg::eval {

struct LoraRow {
    EvalWindow window;   // length 0: the row is idle at this step
    bool train = false;  // the chunk is not its document's last
};

struct LoraBatch {
    std::vector<DocSpan> docs;               // one per row
    std::vector<std::vector<LoraRow>> steps;  // [step][row]
};

// pg::Error naming LORA_TTT_CHUNK when chunk > context or chunk < 1.
std::vector<LoraBatch> plan_lora_batches(const std::vector<DocSpan>& docs, int64_t num_tokens, int64_t batch_docs,
                                         int64_t chunk, int64_t context);

}  // namespace pg::eval
