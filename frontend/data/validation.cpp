// Validation token loading and truncation (see validation.h).
#include "frontend/data/validation.h"

#include "base/error.h"
#include "frontend/data/shard.h"

namespace pg::data {

ValidationTokens truncate_validation(std::vector<uint16_t> tokens, int64_t seq_len) {
    PG_CHECK(seq_len >= 1, "evaluation sequence length must be positive (got {})", seq_len);
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t usable = n >= 1 ? (n - 1) / seq_len * seq_len : 0;
    PG_CHECK(usable > 0,
             "the validation split has {} tokens, too short for sequence length {} (it needs at least "
             "{}); use a shorter TRAIN_SEQ_LEN or more validation documents",
             n, seq_len, seq_len + 1);
    ValidationTokens out;
    out.loaded = n;
    out.usable = usable;
    tokens.resize(static_cast<size_t>(usable + 1));
    out.tokens = std::move(tokens);
    return out;
}

ValidationTokens load_validation_tokens(const std::filesystem::path& data_path, int64_t seq_len, int64_t vocab_size) {
    std::vector<std::filesystem::path> files = find_shards(data_path, "val");
    std::vector<Shard> shards;
    int64_t total = 0;
    for (const auto& f : files) {
        shards.push_back(Shard::open(f));
        total += shards.back().num_tokens();
    }
    std::vector<uint16_t> tokens;
    tokens.reserve(static_cast<size_t>(total));
    for (const Shard& s : shards) {
        if (vocab_size > 0) check_token_range(s.tokens(), vocab_size, s.path().string());
        tokens.insert(tokens.end(), s.tokens().begin(), s.tokens().end());
    }
    ValidationTokens out = truncate_validation(std::move(tokens), seq_len);
    out.files = std::move(files);
    return out;
}

}  // namespace pg::data
