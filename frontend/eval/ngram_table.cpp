// Open-addressing n-gram count tables (see ngram_table.h).
#include "frontend/eval/ngram_table.h"

#include <algorithm>
#include <bit>

#include "base/error.h"

namespace pg::eval {
namespace {

// splitmix64's finaliser: a cheap bijective mix, so distinct inputs give distinct keys before the
// table's masking.
uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t nonzero(uint64_t h) { return h == 0 ? 1 : h; }

}  // namespace

CountTable::CountTable(int64_t initial_capacity) {
    const auto cap = std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(initial_capacity, 16)));
    keys_.assign(cap, 0);
    counts_.assign(cap, 0);
}

int64_t CountTable::slot(uint64_t key) const {
    const uint64_t mask = keys_.size() - 1;
    for (uint64_t i = key & mask;; i = (i + 1) & mask)
        if (keys_[i] == key || keys_[i] == 0) return static_cast<int64_t>(i);
}

uint32_t CountTable::get(uint64_t key) const {
    const auto i = static_cast<size_t>(slot(key));
    return keys_[i] == key ? counts_[i] : 0;
}

uint32_t CountTable::add(uint64_t key, uint32_t amount) {
    PG_ASSERT(key != 0, "key 0 marks an empty slot");
    if (2 * (size_ + 1) > static_cast<int64_t>(keys_.size())) grow();
    const auto i = static_cast<size_t>(slot(key));
    if (keys_[i] == 0) {
        keys_[i] = key;
        ++size_;
    }
    return counts_[i] += amount;
}

void CountTable::set(uint64_t key, uint32_t value) {
    const uint32_t now = get(key);
    if (value != now) add(key, value - now);  // unsigned wrap-around lands exactly on value
}

void CountTable::grow() {
    std::vector<uint64_t> keys = std::move(keys_);
    std::vector<uint32_t> counts = std::move(counts_);
    keys_.assign(keys.size() * 2, 0);
    counts_.assign(keys.size() * 2, 0);
    for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] == 0) continue;
        const auto j = static_cast<size_t>(slot(keys[i]));
        keys_[j] = keys[i];
        counts_[j] = counts[i];
    }
}

NgramCounts::NgramCounts(std::vector<int> orders) : orders_(std::move(orders)) {
    for (int k : orders_) PG_ASSERT(k >= 0, "n-gram order {} is negative", k);
}

void NgramCounts::observe(std::span<const uint16_t> past, uint16_t target) {
    for (int k : orders_) {
        if (static_cast<size_t>(k) > past.size()) continue;
        const uint64_t ctx = context_key(past, k);
        totals_.add(ctx);
        const uint32_t c = continuations_.add(continuation_key(ctx, target));
        if (c > best_count_.get(ctx)) {
            best_count_.set(ctx, c);
            best_token_.set(ctx, target + 1u);
        }
    }
}

NgramCounts::Best NgramCounts::best(uint64_t context) const {
    const uint32_t token = best_token_.get(context);
    return token == 0 ? Best{} : Best{static_cast<int64_t>(token) - 1, best_count_.get(context)};
}

uint64_t context_key(std::span<const uint16_t> past, int order) {
    PG_ASSERT(order >= 0 && static_cast<size_t>(order) <= past.size(), "context of order {} after {} tokens",
              order, past.size());
    uint64_t h = mix(0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(order));
    for (size_t i = past.size() - static_cast<size_t>(order); i < past.size(); ++i) h = mix(h ^ (past[i] + 1ULL));
    return nonzero(h);
}

uint64_t continuation_key(uint64_t context, uint16_t token) {
    return nonzero(mix(context ^ (0x632be59bd9b4e019ULL * (token + 1ULL))));
}

}  // namespace pg::eval
