// The scoring schedule of LoRA test-time training (see lora_plan.h).
#include "frontend/eval/lora_plan.h"

#include <algorithm>

#include "base/error.h"

namespace pg::eval {
namespace {

// Chunk s of `doc`: targets [a, b]; the window's inputs are stream [max(start, b - W), b).
LoraRow chunk_row(const DocSpan& doc, int64_t num_tokens, int64_t s, int64_t chunk, int64_t context) {
    const int64_t last = doc.last_target(num_tokens);
    const int64_t a = doc.first_target() + s * chunk;
    if (a > last) return {};
    const int64_t b = std::min(a + chunk - 1, last);
    const int64_t start = std::max(doc.start, b - context);
    const int64_t length = b - start;
    return {{start, length, length - (b - a + 1), length}, b < last};
}

}  // namespace

std::vector<LoraBatch> plan_lora_batches(const std::vector<DocSpan>& docs, int64_t num_tokens, int64_t batch_docs,
                                         int64_t chunk, int64_t context) {
    PG_CHECK(chunk >= 1 && chunk <= context,
             "LORA_TTT_CHUNK={} must be between 1 and the context window LORA_TTT_CONTEXT={}", chunk, context);
    PG_CHECK(batch_docs >= 1, "LORA_TTT_BATCH_DOCS={} must be at least 1", batch_docs);
    std::vector<DocSpan> order = docs;
    std::stable_sort(order.begin(), order.end(), [&](const DocSpan& x, const DocSpan& y) {
        return x.targets(num_tokens) > y.targets(num_tokens);
    });
    std::vector<LoraBatch> out;
    for (size_t first = 0; first < order.size(); first += static_cast<size_t>(batch_docs)) {
        LoraBatch batch;
        batch.docs.assign(order.begin() + static_cast<std::ptrdiff_t>(first),
                          order.begin() + static_cast<std::ptrdiff_t>(
                                              std::min(order.size(), first + static_cast<size_t>(batch_docs))));
        const int64_t steps = (batch.docs.front().targets(num_tokens) + chunk - 1) / chunk;
        for (int64_t s = 0; s < steps; ++s) {
            std::vector<LoraRow>& rows = batch.steps.emplace_back();
            for (const DocSpan& d : batch.docs) rows.push_back(chunk_row(d, num_tokens, s, chunk, context));
        }
        out.push_back(std::move(batch));
    }
    return out;
}

}  // namespace pg::eval
