// The SentencePiece tokenizer wrapper: loading a .model file (TOKENIZER_PATH), training a BPE
// model with the challenge's settings (spec 1.3), thread-safe encoding, piece queries for the
// byte tables of the metric, and saving .model + .vocab. SentencePiece headers stay inside
// tokenizer.cpp.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace pg::data {

// Training settings. Everything else is fixed to the challenge's values: model_type=bpe,
// character_coverage=0.999, byte_fallback=true, split_digits=true,
// normalization_rule_name=nmt_nfkc, add_dummy_prefix=false, pad/bos/eos/unk = 0/1/2/3,
// hard_vocab_limit=false, training text = each document with NUL -> space, stripped, blank ones
// skipped. One deliberate difference: max_sentence_length is raised from SentencePiece's default
// of 4192 bytes to its maximum (2^30), because with the default every document longer than 4 KB is
// silently left out of training (all 500 Brown documents are longer).
struct TokenizerTrainOptions {
    int64_t vocab_size = 1024;
    int threads = 1;
    int64_t max_docs = 0;  // train on the first max_docs documents only; 0 = all
};

class Tokenizer {
public:
    // Loads a SentencePiece model file; pg::Error naming the file if it is missing or invalid.
    static Tokenizer load(const std::filesystem::path& model_file);
    // Loads a serialized ModelProto; `origin` names it in messages.
    static Tokenizer from_serialized(std::string model_proto, std::string origin);
    // Trains on the texts that `next_text` yields (it returns false at the end).
    static Tokenizer train(const std::function<bool(std::string&)>& next_text, const TokenizerTrainOptions& options);

    // Writes the model to `model_file` and a "piece<TAB>score" listing beside it (.vocab), each
    // through a temporary file and a rename.
    void save(const std::filesystem::path& model_file) const;

    int vocab_size() const;
    int bos_id() const;
    int eos_id() const;
    int pad_id() const;
    int unk_id() const;

    // Thread-safe. Token ids of `text` (no BOS/EOS).
    std::vector<int> encode(std::string_view text) const;
    std::string decode(std::span<const int> ids) const;

    const std::string& piece(int id) const;
    int piece_to_id(std::string_view piece) const;
    bool is_byte(int id) const;
    bool is_control(int id) const;
    bool is_unknown(int id) const;
    bool is_unused(int id) const;

    const std::string& serialized_model() const { return model_; }
    const std::string& origin() const { return origin_; }

private:
    std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;
    std::string model_;
    std::string origin_;
};

}  // namespace pg::data
