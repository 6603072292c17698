// Documents of the validation stream: each starts at a BOS token (spec 1.1: every document is
// prefixed with BOS). Document d spans stream [start_d, start_{d+1}); it owns the targets
// start_d + 1 .. start_{d+1} (the next document's BOS is predicted from the end of this one), so
// every target 1..N-1 belongs to exactly one document and sees only its own document's tokens
// when a method isolates documents. Tokens before the first BOS form a document of their own.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pg::eval {

struct DocSpan {
    int64_t start = 0;  // stream index of the document's first token (its BOS)
    int64_t end = 0;    // one past its last token; its last target is `end` (or end - 1 at the stream's end)
    int64_t first_target() const { return start + 1; }
    int64_t last_target(int64_t num_tokens) const { return end < num_tokens ? end : num_tokens - 1; }
    int64_t targets(int64_t num_tokens) const { return last_target(num_tokens) - start; }
};

// The documents of `stream` in stream order (documents without a target are left out).
std::vector<DocSpan> split_documents(std::span<const uint16_t> stream, uint16_t bos_id);

}  // namespace pg::eval
