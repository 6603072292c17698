// The baseline's training-token streaming (spec 1.4a): TokenStream walks the sorted train shards
// with one global cursor, wrapping to the first shard after the last; DistributedTokenLoader cuts
// each micro-step's contiguous chunk of W*(local+1) tokens into per-rank spans exactly as
// train_gpt.py does (rank r takes chunk[r*(local+1) : (r+1)*(local+1)], x = span[:-1],
// y = span[1:], both (local/S, S)). Sequences ignore document boundaries.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "frontend/data/shard.h"

namespace pg::data {

class TokenStream {
public:
    // `files` in the order to read them (find_shards sorts them). Throws pg::Error when the list is
    // empty or every shard is empty.
    explicit TokenStream(std::vector<std::filesystem::path> files);

    // Copies the next n tokens into out (which must hold n), crossing shard boundaries and
    // wrapping around at the end, like the baseline's take(n).
    void take(int64_t n, uint16_t* out);
    std::vector<uint16_t> take(int64_t n);
    // Advances the cursor by n tokens without copying them.
    void skip(int64_t n);

    // Position of the cursor: shard index and token offset within it.
    size_t file_index() const { return file_index_; }
    int64_t position() const { return pos_; }
    const std::vector<std::filesystem::path>& files() const { return files_; }

private:
    void advance_file();
    template <class Sink>
    void consume(int64_t n, Sink&& sink);

    std::vector<std::filesystem::path> files_;
    size_t file_index_ = 0;
    Shard shard_;
    int64_t pos_ = 0;
};

// One rank's micro-batch: inputs and targets, row-major (rows, seq_len), as int32 token ids.
struct TokenBatch {
    int64_t rows = 0;
    int64_t seq_len = 0;
    std::vector<int32_t> inputs;
    std::vector<int32_t> targets;
};

class DistributedTokenLoader {
public:
    DistributedTokenLoader(std::vector<std::filesystem::path> files, int rank, int world_size);

    // The baseline's next_batch(global_tokens, seq_len, grad_accum_steps): local =
    // global_tokens / (world_size * grad_accum_steps) tokens per rank, which must be a positive
    // multiple of seq_len (pg::Error naming the three values otherwise). Every call consumes
    // world_size * (local + 1) tokens of the stream.
    TokenBatch next_batch(int64_t global_tokens, int64_t seq_len, int64_t grad_accum_steps);

    // Tokens of the stream consumed so far (by all ranks), and a fast-forward by that many: a
    // resumed run continues with exactly the batches an uninterrupted run would have seen.
    int64_t tokens_consumed() const { return consumed_; }
    void skip_tokens(int64_t n);

    int rank() const { return rank_; }
    int world_size() const { return world_size_; }
    const TokenStream& stream() const { return stream_; }

private:
    int rank_;
    int world_size_;
    TokenStream stream_;
    std::vector<uint16_t> span_;
    int64_t consumed_ = 0;
};

}  // namespace pg::data
