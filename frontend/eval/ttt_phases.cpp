// Phases of phased global SGD test-time training (see ttt_phases.h).
#include "frontend/eval/ttt_phases.h"

#include <charconv>

#include "base/error.h"

namespace pg::eval {

std::vector<int64_t> parse_phase_docs(std::string_view list) {
    std::vector<int64_t> out;
    for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const std::string_view item = list.substr(pos, comma - pos);
        int64_t n = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        PG_CHECK(ec == std::errc() && end == item.data() + item.size() && n > 0 && (out.empty() || n > out.back()),
                 "TTT_PHASE_DOCS={}: expected increasing positive document counts such as 2000 or 666,1333,2000",
                 list);
        out.push_back(n);
        pos = comma + 1;
    }
    return out;
}

std::vector<TttPhase> plan_ttt_phases(const WindowPlan& plan, const std::vector<DocSpan>& docs,
                                      const std::vector<int64_t>& phase_docs) {
    std::vector<TttPhase> out;
    size_t w = 0;
    for (int64_t n : phase_docs) {
        if (n >= static_cast<int64_t>(docs.size())) break;
        const int64_t last = docs[static_cast<size_t>(n)].start;
        while (w < plan.windows.size() && plan.windows[w].first_target() <= last) ++w;
        out.push_back({w, last});
    }
    return out;
}

std::vector<LoraPhase> plan_lora_phases(const std::vector<LoraBatch>& batches, const std::vector<int64_t>& phase_docs) {
    std::vector<DocSpan> queue;
    std::vector<size_t> batch_of;  // queue document -> its batch
    for (size_t b = 0; b < batches.size(); ++b)
        for (const DocSpan& d : batches[b].docs) {
            queue.push_back(d);
            batch_of.push_back(b);
        }
    std::vector<LoraPhase> out;
    for (int64_t n : phase_docs) {
        if (n >= static_cast<int64_t>(queue.size())) break;
        out.push_back({batch_of[static_cast<size_t>(n - 1)], {queue.begin(), queue.begin() + n}});
    }
    return out;
}

std::vector<uint16_t> concat_documents(std::span<const uint16_t> stream, const std::vector<DocSpan>& docs) {
    std::vector<uint16_t> out;
    for (const DocSpan& d : docs)
        out.insert(out.end(), stream.begin() + d.start, stream.begin() + d.end);
    return out;
}

}  // namespace pg::eval
