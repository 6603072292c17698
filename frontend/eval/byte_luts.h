// Per-token byte tables of the metric, built from a SentencePiece model exactly as the challenge
// builds them (spec 2.2), and the byte count of scored targets. Table size is
// max(tokenizer vocab, VOCAB_SIZE); ids past the tokenizer's pieces are zero-byte boundaries.
//   control / unknown / unused piece: base 0, boundary
//   byte-fallback piece <0xXX>:       base 1
//   other piece:                       leading '▁' (U+2581) -> has_leading_space, dropped;
//                                      base = UTF-8 length of the rest
// A target y after input token x counts base[y] + (has_leading_space[y] && !is_boundary[x]) bytes,
// so the space of a word-initial piece is not charged right after BOS.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pg::data {
class Tokenizer;
}

namespace pg::eval {

struct ByteLuts {
    std::vector<int16_t> base_bytes;
    std::vector<uint8_t> has_leading_space;
    std::vector<uint8_t> is_boundary;

    int64_t size() const { return static_cast<int64_t>(base_bytes.size()); }
    // Bytes of target `target` whose preceding token is `prev`; both must be < size().
    int64_t target_bytes(int64_t prev, int64_t target) const {
        return base_bytes[static_cast<size_t>(target)] +
               (has_leading_space[static_cast<size_t>(target)] && !is_boundary[static_cast<size_t>(prev)] ? 1 : 0);
    }
};

// Builds the tables. Throws pg::Error when '▁' is not a standalone piece of the tokenizer (spec
// 2.2's precondition: otherwise each space is counted as 3 byte-fallback bytes and bpb comes out
// too low) or when vocab_size is not positive.
ByteLuts build_byte_luts(const data::Tokenizer& tokenizer, int64_t vocab_size);

// Sum of target_bytes(tokens[t-1], tokens[t]) over target positions t in [first_target, end_target)
// (1 <= first_target <= end_target <= tokens.size()). Throws pg::Error for an id outside the table.
int64_t sum_target_bytes(std::span<const uint16_t> tokens, const ByteLuts& luts, int64_t first_target,
                         int64_t end_target);

}  // namespace pg::eval
