// Batched LoRA adapters for test-time training (spec 2.5 methods 1 and 3): one adapter per row of
// the batch (each row is one document) on each targeted adapter site (nn::LinearAdapter),
//     y[r] += (alpha / rank) * (x[r] A[r]) B[r],   A [rows, in, rank], B [rows, rank, out]
// (alpha = 0: scale 1, as the first LoRA TTT record). Targets: q, k, v (the attention's c_q, c_k,
// c_v), o (its output projection), mlp (PR #1530's MLP adapter: a d -> d map of the MLP's input
// added to the MLP's output, site "blocks.<i>.mlp") and head (the tied output head,
// tok_emb.weight). A site used several times in one forward pass (depth recurrence) gets one
// adapter per use, as the records keep one set per virtual layer:
// "<site>.lora_a.<use>.r<rank>x<rows>" and "<site>.lora_b...." (group kAdapterGroup; the shape in
// the name keeps adapters of other settings apart in one session, whose graphs share every
// parameter by name).
#pragma once
#include <string>
#include <vector>

#include "frontend/nn/layers.h"

namespace pg {

struct LoraSpec {
    std::vector<std::string> targets;  // of q, k, v, o, mlp, head
    int64_t rank = 8;
    double scale = 1.0;
    int64_t rows = 1;
};

// Checks the target names (pg::Error naming LORA_TTT_TARGETS).
void check_lora_targets(const std::vector<std::string>& targets);

// True when adapter site `site` (a weight name, or "blocks.<i>.mlp") is one of the targets.
bool lora_targets_site(const std::vector<std::string>& targets, const std::string& site);

nn::LinearAdapter make_lora_adapter(const LoraSpec& spec);

}  // namespace pg
