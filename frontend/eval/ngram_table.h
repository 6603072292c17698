// N-gram count tables for the evaluation-time n-gram methods (spec 4.7): open-addressing hash
// tables (linear probing, power-of-two capacity, grown at half load) keyed by a 64-bit hash of
// (order, the last `order` tokens[, next token]). A context is identified by its hash only: a
// collision merges two contexts' counts, which changes how good a prediction is but never its
// legality (counts only come from observed tokens) nor the normalisation (each method normalises
// whatever counts it reads).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pg::eval {

// uint64 key -> uint32 count.
class CountTable {
public:
    explicit CountTable(int64_t initial_capacity = 1 << 12);
    uint32_t get(uint64_t key) const;
    uint32_t add(uint64_t key, uint32_t amount = 1);  // returns the new count
    void set(uint64_t key, uint32_t value);
    int64_t size() const { return size_; }

private:
    void grow();
    int64_t slot(uint64_t key) const;

    std::vector<uint64_t> keys_;  // 0 = empty (real keys are never 0, see context_key)
    std::vector<uint32_t> counts_;
    int64_t size_ = 0;
};

// Hash of the context made of the last `order` tokens of `past` (order >= 1, past.size() >= order)
// and of order 0 (the empty context). Never 0.
uint64_t context_key(std::span<const uint16_t> past, int order);
// Hash of (context, next token). Never 0.
uint64_t continuation_key(uint64_t context, uint16_t token);

// Counts of the contexts of the given orders and of their continuations, with each context's most
// frequent continuation (ties keep the one that got there first), grown by observe() only.
class NgramCounts {
public:
    explicit NgramCounts(std::vector<int> orders);

    // Counts `target` after `past` in every order whose context fits (past.size() >= order).
    void observe(std::span<const uint16_t> past, uint16_t target);

    uint32_t total(uint64_t context) const { return totals_.get(context); }
    uint32_t count(uint64_t context, uint16_t token) const { return continuations_.get(continuation_key(context, token)); }
    struct Best {
        int64_t token = -1;  // -1: context never seen
        uint32_t count = 0;
    };
    Best best(uint64_t context) const;
    const std::vector<int>& orders() const { return orders_; }

private:
    std::vector<int> orders_;
    CountTable totals_, continuations_, best_token_, best_count_;
};

}  // namespace pg::eval
