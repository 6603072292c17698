// Validation tokens as the baseline loads them (spec 1.5): every fineweb_val_*.bin of the dataset
// (CaseOps byte sidecars excluded) concatenated in sorted order, then truncated to usable + 1
// tokens with usable = floor((N - 1) / S) * S, S being the evaluation sequence length. `usable` is
// what the logs print as val_tokens.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace pg::data {

struct ValidationTokens {
    std::vector<uint16_t> tokens;              // usable + 1 tokens
    int64_t usable = 0;                        // scored targets of the baseline eval (val_tokens)
    int64_t loaded = 0;                        // tokens before truncation
    std::vector<std::filesystem::path> files;  // the shards read, in order
};

// Truncation alone, for tokens already in memory: keeps usable + 1 tokens. Throws pg::Error
// naming seq_len when fewer than seq_len + 1 tokens are there.
ValidationTokens truncate_validation(std::vector<uint16_t> tokens, int64_t seq_len);

// Loads the val split of `data_path` (DATA_PATH) and truncates it for `seq_len`. When vocab_size
// is positive, every token id is checked to be below it.
ValidationTokens load_validation_tokens(const std::filesystem::path& data_path, int64_t seq_len,
                                        int64_t vocab_size = 0);

}  // namespace pg::data
