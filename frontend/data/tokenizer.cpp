// SentencePiece tokenizer wrapper: load, train with the challenge's settings, encode, save
// (see tokenizer.h).
#include "frontend/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::data {
namespace {

// Feeds documents to the SentencePiece trainer as the challenge's _iter_sentencepiece_text does:
// NUL -> space, surrounding whitespace stripped, blank texts skipped.
class DocumentSentences : public sentencepiece::SentenceIterator {
public:
    DocumentSentences(const std::function<bool(std::string&)>& next_text, int64_t max_docs)
        : next_text_(next_text), max_docs_(max_docs) {
        Next();
    }
    bool done() const override { return done_; }
    const std::string& value() const override { return value_; }
    sentencepiece::util::Status status() const override { return {}; }
    void Next() override {
        while (!done_) {
            if ((max_docs_ > 0 && taken_ >= max_docs_) || !next_text_(raw_)) {
                done_ = true;
                return;
            }
            ++taken_;
            std::replace(raw_.begin(), raw_.end(), '\0', ' ');
            const auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
            auto begin = std::find_if_not(raw_.begin(), raw_.end(), is_space);
            auto end = std::find_if_not(raw_.rbegin(), std::make_reverse_iterator(begin), is_space).base();
            if (begin == end) continue;
            value_.assign(begin, end);
            return;
        }
    }

private:
    const std::function<bool(std::string&)>& next_text_;
    int64_t max_docs_;
    int64_t taken_ = 0;
    bool done_ = false;
    std::string raw_;
    std::string value_;
};

}  // namespace

Tokenizer Tokenizer::from_serialized(std::string model_proto, std::string origin) {
    auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->LoadFromSerializedProto(model_proto);
    PG_CHECK(status.ok(), "{} is not a valid SentencePiece model: {}", origin, status.ToString());
    Tokenizer t;
    t.sp_ = std::move(sp);
    t.model_ = std::move(model_proto);
    t.origin_ = std::move(origin);
    return t;
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_file) {
    std::ifstream in(model_file, std::ios::binary);
    PG_CHECK(in.good(), "cannot open tokenizer model {}; set TOKENIZER_PATH to a SentencePiece .model file",
             model_file.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    PG_CHECK(!in.bad(), "cannot read tokenizer model {}", model_file.string());
    return from_serialized(std::move(bytes), model_file.string());
}

Tokenizer Tokenizer::train(const std::function<bool(std::string&)>& next_text, const TokenizerTrainOptions& options) {
    PG_CHECK(options.vocab_size >= 261 && options.vocab_size <= 65536,
             "--vocab-size {} is out of range: it must hold the 4 special and 256 byte pieces plus at "
             "least one more (>= 261), and fit the shards' uint16 ids (<= 65536)",
             options.vocab_size);
    const std::unordered_map<std::string, std::string> kwargs = {
        {"model_type", "bpe"},
        {"vocab_size", std::to_string(options.vocab_size)},
        {"character_coverage", "0.999"},
        {"byte_fallback", "true"},
        {"split_digits", "true"},
        {"normalization_rule_name", "nmt_nfkc"},
        {"add_dummy_prefix", "false"},
        {"pad_id", "0"},
        {"bos_id", "1"},
        {"eos_id", "2"},
        {"unk_id", "3"},
        {"hard_vocab_limit", "false"},
        {"max_sentence_length", "1073741824"},
        {"num_threads", std::to_string(std::clamp(options.threads, 1, 128))},
        {"minloglevel", "2"},
    };
    DocumentSentences sentences(next_text, options.max_docs);
    std::string proto;
    const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &sentences, &proto);
    PG_CHECK(status.ok(), "SentencePiece training failed: {}", status.ToString());
    return from_serialized(std::move(proto), "the trained tokenizer");
}

void Tokenizer::save(const std::filesystem::path& model_file) const {
    io::write_file_atomically(model_file, model_);
    std::string vocab;
    for (int i = 0; i < vocab_size(); ++i) vocab += fmt::format("{}\t{}\n", piece(i), sp_->GetScore(i));
    std::filesystem::path vocab_file = model_file;
    vocab_file.replace_extension(".vocab");
    io::write_file_atomically(vocab_file, vocab);
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::pad_id() const { return sp_->pad_id(); }
int Tokenizer::unk_id() const { return sp_->unk_id(); }

std::vector<int> Tokenizer::encode(std::string_view text) const {
    std::vector<int> ids;
    const auto status = sp_->Encode(text, &ids);
    PG_CHECK(status.ok(), "tokenizer {} failed to encode a text: {}", origin_, status.ToString());
    return ids;
}

std::string Tokenizer::decode(std::span<const int> ids) const {
    std::string text;
    const auto status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
    PG_CHECK(status.ok(), "tokenizer {} failed to decode: {}", origin_, status.ToString());
    return text;
}

const std::string& Tokenizer::piece(int id) const { return sp_->IdToPiece(id); }
int Tokenizer::piece_to_id(std::string_view piece) const { return sp_->PieceToId(piece); }
bool Tokenizer::is_byte(int id) const { return sp_->IsByte(id); }
bool Tokenizer::is_control(int id) const { return sp_->IsControl(id); }
bool Tokenizer::is_unknown(int id) const { return sp_->IsUnknown(id); }
bool Tokenizer::is_unused(int id) const { return sp_->IsUnused(id); }

}  // namespace pg::data
