// TokenStream and DistributedTokenLoader (see token_stream.h).
#include "frontend/data/token_stream.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace pg::data {
namespace {

Shard open_first(const std::vector<std::filesystem::path>& files) {
    PG_CHECK(!files.empty(), "the training token stream needs at least one shard (none given)");
    return Shard::open(files.front());
}

}  // namespace

TokenStream::TokenStream(std::vector<std::filesystem::path> files)
    : files_(std::move(files)), shard_(open_first(files_)) {}

void TokenStream::advance_file() {
    file_index_ = (file_index_ + 1) % files_.size();
    shard_ = Shard::open(files_[file_index_]);
    pos_ = 0;
}

template <class Sink>
void TokenStream::consume(int64_t n, Sink&& sink) {
    PG_ASSERT(n >= 0, "negative token count {}", n);
    // Guards against spinning forever over shards that are all empty.
    size_t empty_in_a_row = 0;
    while (n > 0) {
        const int64_t avail = shard_.num_tokens() - pos_;
        if (avail <= 0) {
            PG_CHECK(++empty_in_a_row <= files_.size(), "every training shard is empty (first: {})",
                     files_.front().string());
            advance_file();
            continue;
        }
        empty_in_a_row = 0;
        const int64_t k = std::min(n, avail);
        sink(shard_.tokens().subspan(static_cast<size_t>(pos_), static_cast<size_t>(k)));
        pos_ += k;
        n -= k;
    }
}

void TokenStream::take(int64_t n, uint16_t* out) {
    consume(n, [&](std::span<const uint16_t> piece) {
        std::memcpy(out, piece.data(), piece.size() * sizeof(uint16_t));
        out += piece.size();
    });
}

std::vector<uint16_t> TokenStream::take(int64_t n) {
    std::vector<uint16_t> out(static_cast<size_t>(n));
    take(n, out.data());
    return out;
}

void TokenStream::skip(int64_t n) {
    consume(n, [](std::span<const uint16_t>) {});
}

DistributedTokenLoader::DistributedTokenLoader(std::vector<std::filesystem::path> files, int rank, int world_size)
    : rank_(rank), world_size_(world_size), stream_(std::move(files)) {
    PG_CHECK(world_size >= 1, "world size must be at least 1 (got {})", world_size);
    PG_CHECK(rank >= 0 && rank < world_size, "rank {} is outside [0, {})", rank, world_size);
}

void DistributedTokenLoader::skip_tokens(int64_t n) {
    PG_CHECK(n >= 0, "cannot skip a negative number of tokens ({})", n);
    stream_.skip(n);
    consumed_ += n;
}

TokenBatch DistributedTokenLoader::next_batch(int64_t global_tokens, int64_t seq_len, int64_t grad_accum_steps) {
    PG_CHECK(seq_len >= 1, "TRAIN_SEQ_LEN must be positive (got {})", seq_len);
    PG_CHECK(grad_accum_steps >= 1, "gradient accumulation steps must be positive (got {})", grad_accum_steps);
    const int64_t ranks_x_accum = int64_t{world_size_} * grad_accum_steps;
    PG_CHECK(global_tokens > 0 && global_tokens % ranks_x_accum == 0,
             "TRAIN_BATCH_TOKENS={} must be a positive multiple of world_size*grad_accum_steps={}",
             global_tokens, ranks_x_accum);
    const int64_t local = global_tokens / ranks_x_accum;
    PG_CHECK(local % seq_len == 0,
             "TRAIN_BATCH_TOKENS={} gives {} tokens per rank and micro-step, not a multiple of "
             "TRAIN_SEQ_LEN={}",
             global_tokens, local, seq_len);
    const int64_t span = local + 1;
    // Only this rank's span is copied; the other ranks' spans are skipped, so the stream advances
    // by world_size * span exactly as the baseline's chunk = take(world_size * span).
    span_.resize(static_cast<size_t>(span));
    stream_.skip(int64_t{rank_} * span);
    stream_.take(span, span_.data());
    stream_.skip(int64_t{world_size_ - 1 - rank_} * span);
    consumed_ += int64_t{world_size_} * span;

    TokenBatch batch;
    batch.rows = local / seq_len;
    batch.seq_len = seq_len;
    batch.inputs.assign(span_.begin(), span_.end() - 1);
    batch.targets.assign(span_.begin() + 1, span_.end());
    return batch;
}

}  // namespace pg::data
