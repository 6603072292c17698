// Documents of the validation stream (see documents.h).
#include "frontend/eval/documents.h"

namespace pg::eval {

std::vector<DocSpan> split_documents(std::span<const uint16_t> stream, uint16_t bos_id) {
    std::vector<DocSpan> docs;
    const auto n = static_cast<int64_t>(stream.size());
    int64_t start = 0;
    for (int64_t i = 1; i <= n; ++i) {
        if (i < n && stream[static_cast<size_t>(i)] != bos_id) continue;
        if (start + 1 < n) docs.push_back({start, i});
        start = i;
    }
    return docs;
}

}  // namespace pg::eval
