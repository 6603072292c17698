// Liveness-based arena planning (see memory_plan.h).
#include "codegen/memory_plan.h"

#include <algorithm>
#include <climits>
#include <map>

namespace pg {

namespace {
constexpr int64_t kAlign = 64;  // a cache line, and the widest vector load
int64_t align_up(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers) {
    MemoryPlan plan;
    plan.offsets.assign(buffers.size(), 0);
    std::vector<size_t> order(buffers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].first < buffers[b].first; });

    std::map<int64_t, int64_t> in_use;             // offset -> size
    std::multimap<int, size_t> by_last;            // last use -> buffer
    for (size_t i : order) {
        const BufferLifetime& b = buffers[i];
        plan.naive_bytes += align_up(b.bytes);
        while (!by_last.empty() && by_last.begin()->first < b.first) {
            in_use.erase(plan.offsets[by_last.begin()->second]);
            by_last.erase(by_last.begin());
        }
        int64_t size = align_up(std::max<int64_t>(b.bytes, 1));
        int64_t offset = 0;
        for (auto [o, s] : in_use) {
            if (o - offset >= size) break;
            offset = std::max(offset, o + s);
        }
        plan.offsets[i] = offset;
        in_use[offset] = size;
        by_last.emplace(b.last, i);
        plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    }
    return plan;
}

}  // namespace pg
