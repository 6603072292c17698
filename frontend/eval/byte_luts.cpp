// Per-token byte tables (see byte_luts.h).
#include "frontend/eval/byte_luts.h"

#include <algorithm>

#include "base/error.h"
#include "frontend/data/tokenizer.h"

namespace pg::eval {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

}  // namespace

ByteLuts build_byte_luts(const data::Tokenizer& tokenizer, int64_t vocab_size) {
    PG_CHECK(vocab_size > 0, "VOCAB_SIZE must be positive (got {})", vocab_size);
    const int sp_size = tokenizer.vocab_size();
    const auto table = static_cast<size_t>(std::max<int64_t>(sp_size, vocab_size));
    const int marker = tokenizer.piece_to_id(kSpaceMarker);
    PG_CHECK(marker != tokenizer.unk_id() && !tokenizer.is_unknown(marker),
             "tokenizer {} has no standalone '\u2581' piece, so spaces would be counted as 3 byte-fallback "
             "bytes and val_bpb would come out too low (spec 2.2); use a tokenizer trained on text with "
             "spaces",
             tokenizer.origin());

    ByteLuts luts;
    luts.base_bytes.assign(table, 0);
    luts.has_leading_space.assign(table, 0);
    luts.is_boundary.assign(table, 1);
    for (int id = 0; id < sp_size; ++id) {
        if (tokenizer.is_control(id) || tokenizer.is_unknown(id) || tokenizer.is_unused(id)) continue;
        luts.is_boundary[static_cast<size_t>(id)] = 0;
        if (tokenizer.is_byte(id)) {
            luts.base_bytes[static_cast<size_t>(id)] = 1;
            continue;
        }
        std::string_view piece = tokenizer.piece(id);
        if (piece.substr(0, kSpaceMarker.size()) == kSpaceMarker) {
            luts.has_leading_space[static_cast<size_t>(id)] = 1;
            piece.remove_prefix(kSpaceMarker.size());
        }
        luts.base_bytes[static_cast<size_t>(id)] = static_cast<int16_t>(piece.size());
    }
    return luts;
}

int64_t sum_target_bytes(std::span<const uint16_t> tokens, const ByteLuts& luts, int64_t first_target,
                         int64_t end_target) {
    PG_ASSERT(first_target >= 1 && first_target <= end_target && end_target <= static_cast<int64_t>(tokens.size()),
              "target range [{}, {}) outside a stream of {} tokens", first_target, end_target, tokens.size());
    int64_t bytes = 0;
    for (int64_t t = first_target; t < end_target; ++t) {
        const uint16_t prev = tokens[static_cast<size_t>(t - 1)];
        const uint16_t target = tokens[static_cast<size_t>(t)];
        PG_CHECK(std::max(prev, target) < luts.size(),
                 "token id {} at position {} is outside the byte tables ({} entries); VOCAB_SIZE or the "
                 "tokenizer does not match the data",
                 std::max(prev, target), prev >= luts.size() ? t - 1 : t, luts.size());
        bytes += luts.target_bytes(prev, target);
    }
    return bytes;
}

}  // namespace pg::eval
