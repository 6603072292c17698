// The `pgolf prepare` pipeline (see prepare.h): count and train (pass 1), encode in parallel and
// write shards (pass 2), then save the tokenizer and manifest and move the folder into place.
#include "frontend/data/prepare.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/error.h"
#include "base/thread_pool.h"
#include "frontend/data/tokenizer.h"
#include "frontend/eval/byte_luts.h"

namespace pg::data {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Documents are encoded in batches: big enough to keep every thread busy for a while, small enough
// to bound memory (the next batch is read while this one is encoded).
constexpr size_t kBatchDocs = 1024;
constexpr int64_t kBatchBytes = 32 << 20;

// A folder beside the output, removed on destruction unless it was moved into place.
class StagingDir {
public:
    explicit StagingDir(const std::filesystem::path& output) {
        const std::filesystem::path parent = output.parent_path().empty() ? "." : output.parent_path();
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        PG_CHECK(!ec, "cannot create the folder {} for --output: {}", parent.string(), ec.message());
        std::string templ = (parent / ("." + output.filename().string() + ".tmp-XXXXXX")).string();
        PG_CHECK(::mkdtemp(templ.data()) != nullptr, "cannot create a temporary folder in {}: {}",
                 parent.string(), std::strerror(errno));
        path_ = templ;
        // mkdtemp makes the folder private (0700); the dataset gets the usual permissions.
        const mode_t mask = ::umask(0);
        ::umask(mask);
        std::filesystem::permissions(path_, static_cast<std::filesystem::perms>(0777 & ~mask), ec);
    }
    ~StagingDir() {
        if (path_.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Renames the staged folder to `output`; an existing output is replaced only when `force`.
    void commit(const std::filesystem::path& output, bool force) {
        std::error_code ec;
        std::filesystem::path old;
        if (std::filesystem::exists(output, ec)) {
            PG_CHECK(force, "output {} appeared while preparing; pass --force to replace it", output.string());
            old = path_;
            old += ".old";
            std::filesystem::rename(output, old, ec);
            PG_CHECK(!ec, "cannot move the old {} aside: {}", output.string(), ec.message());
        }
        std::filesystem::rename(path_, output, ec);
        if (ec) {
            if (!old.empty()) std::filesystem::rename(old, output, ec);
            throw Error(fmt::format("cannot rename {} to {}: {}", path_.string(), output.string(), ec.message()));
        }
        path_.clear();
        if (!old.empty()) std::filesystem::remove_all(old, ec);
    }

private:
    std::filesystem::path path_;
};

void check_options(const PrepareOptions& o) {
    PG_CHECK(!o.inputs.empty(), "pgolf prepare needs at least one --input FILE_OR_DIR");
    PG_CHECK(!o.output.empty(), "pgolf prepare needs --output DIR");
    PG_CHECK(!o.output.filename().empty(), "--output {} must name a folder, not end in '/'", o.output.string());
    PG_CHECK(!o.tokenizer.empty() || o.vocab_size > 0,
             "pgolf prepare needs --vocab-size N (or --tokenizer MODEL to reuse a trained tokenizer)");
    PG_CHECK(!o.val_docs || *o.val_docs >= 1, "--val-docs must be at least 1 (got {})", o.val_docs.value_or(0));
    PG_CHECK(o.tokenizer_train_docs >= 0, "--tokenizer-train-docs must be >= 0 (got {})", o.tokenizer_train_docs);
    PG_CHECK(o.threads >= 0, "--threads must be >= 0 (got {})", o.threads);
    std::error_code ec;
    PG_CHECK(o.force || !std::filesystem::exists(o.output, ec),
             "output {} already exists; pass --force to replace it or choose another --output", o.output.string());
}

// Pass 1: reads every document once, feeding the first ones to the tokenizer trainer, and counts.
Tokenizer count_and_train(const PrepareOptions& o, const std::vector<std::filesystem::path>& files, int threads,
                          DocumentStats& stats, const PrepareProgress& progress) {
    DocumentReader reader(files);
    Document doc;
    bool training = o.tokenizer.empty();
    auto report = [&](std::string_view phase) {
        if (progress) progress(phase, reader.stats().documents, 0, 0);
    };
    auto next_text = [&](std::string& text) {
        if (!reader.next(doc)) {
            if (training) report("training tokenizer");  // the trainer has all its text now
            return false;
        }
        const int64_t n = reader.stats().documents;
        if (training && n == o.tokenizer_train_docs)
            report("training tokenizer");
        else if (n % 64 == 0)
            report(training ? "reading for the tokenizer" : "counting");
        text = std::move(doc.text);
        return true;
    };
    std::optional<Tokenizer> tokenizer;
    if (training) {
        tokenizer = Tokenizer::train(next_text, {.vocab_size = o.vocab_size, .threads = threads,
                                                 .max_docs = o.tokenizer_train_docs});
        training = false;
    } else {
        tokenizer = Tokenizer::load(o.tokenizer);
        PG_CHECK(o.vocab_size == 0 || o.vocab_size == tokenizer->vocab_size(),
                 "--vocab-size {} does not match tokenizer {} (vocabulary {})", o.vocab_size,
                 o.tokenizer.string(), tokenizer->vocab_size());
    }
    std::string rest;
    while (next_text(rest)) {
    }
    stats = reader.stats();
    return std::move(*tokenizer);
}

struct Batch {
    std::vector<Document> docs;
    std::vector<std::vector<int>> ids;
};

bool read_batch(DocumentReader& reader, Batch& batch) {
    batch.docs.clear();
    int64_t bytes = 0;
    Document doc;
    while (batch.docs.size() < kBatchDocs && bytes < kBatchBytes && reader.next(doc)) {
        bytes += static_cast<int64_t>(doc.text.size());
        batch.docs.push_back(std::move(doc));
    }
    batch.ids.assign(batch.docs.size(), {});
    return !batch.docs.empty();
}

// Pass 2: encodes in parallel (reading the next batch meanwhile) and writes both splits in order.
void encode_and_write(const std::vector<std::filesystem::path>& files, const Tokenizer& tokenizer,
                      const std::optional<eval::ByteLuts>& luts, int64_t total_docs, int64_t val_docs,
                      int64_t shard_tokens, int threads, const std::filesystem::path& dir, PrepareSummary& s,
                      const PrepareProgress& progress) {
    ThreadPool pool(threads);
    DocumentReader reader(files);
    ShardSetWriter val_writer(dir, "val", shard_tokens);
    ShardSetWriter train_writer(dir, "train", shard_tokens);
    const auto bos = static_cast<uint16_t>(tokenizer.bos_id());
    std::vector<uint16_t> tokens;
    int64_t done = 0;

    Batch current, next;
    bool have = read_batch(reader, current);
    while (have) {
        auto encoding = std::async(std::launch::async, [&] {
            // Documents differ in length by orders of magnitude: workers take them one at a time.
            std::atomic<size_t> next{0};
            auto encode_some = [&] {
                for (size_t k; (k = next.fetch_add(1)) < current.docs.size();)
                    current.ids[k] = tokenizer.encode(current.docs[k].text);
            };
            pool.run_all(std::vector<std::function<void()>>(static_cast<size_t>(pool.num_threads()), encode_some));
        });
        const bool have_next = read_batch(reader, next);
        encoding.get();
        for (size_t i = 0; i < current.docs.size(); ++i, ++done) {
            const bool is_val = done < val_docs;
            if (done == val_docs) val_writer.flush();
            tokens.assign(1, bos);
            tokens.insert(tokens.end(), current.ids[i].begin(), current.ids[i].end());
            SplitStats& split = is_val ? s.val : s.train;
            ++split.docs;
            split.tokens += static_cast<int64_t>(tokens.size());
            split.text_bytes += static_cast<int64_t>(current.docs[i].text.size());
            if (luts && tokens.size() > 1)
                split.metric_bytes += eval::sum_target_bytes(tokens, *luts, 1, static_cast<int64_t>(tokens.size()));
            (is_val ? val_writer : train_writer).append(tokens);
        }
        if (progress) progress("encoding", done, total_docs, s.val.tokens + s.train.tokens);
        std::swap(current, next);
        have = have_next;
    }
    val_writer.flush();
    train_writer.flush();
    PG_CHECK(done == total_docs,
             "the inputs changed while preparing ({} documents on the first pass, {} on the second); rerun",
             total_docs, done);
    s.val.shards = static_cast<int64_t>(val_writer.files().size());
    s.train.shards = static_cast<int64_t>(train_writer.files().size());
}

nlohmann::json split_json(const SplitStats& s) {
    return {{"docs", s.docs}, {"tokens", s.tokens}, {"text_bytes", s.text_bytes},
            {"metric_bytes", s.metric_bytes}, {"files", s.shards}};
}

void write_manifest(const std::filesystem::path& dir, const PrepareOptions& o, const PrepareSummary& s,
                    const Tokenizer& tokenizer, int64_t val_docs) {
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& p : o.inputs) inputs.push_back(p.string());
    nlohmann::json m = {
        {"format", "pgolf-prepare-v1"},
        {"inputs", inputs},
        {"num_val_docs", val_docs},
        {"shard_size", o.shard_tokens},
        {"append_eos", false},
        {"tokenizer",
         {{"model_path", "tokenizer.model"},
          {"vocab_path", "tokenizer.vocab"},
          {"vocab_size", tokenizer.vocab_size()},
          {"bos_id", tokenizer.bos_id()},
          {"eos_id", tokenizer.eos_id()},
          {"trained", s.trained_tokenizer},
          {"source", s.trained_tokenizer ? std::string("trained") : o.tokenizer.string()}}},
        {"stats",
         {{"docs_total", s.val.docs + s.train.docs},
          {"docs_val", s.val.docs},
          {"docs_train", s.train.docs},
          {"files_total", s.val.shards + s.train.shards},
          {"files_val", s.val.shards},
          {"files_train", s.train.shards},
          {"tokens_total", s.val.tokens + s.train.tokens},
          {"tokens_val", s.val.tokens},
          {"tokens_train", s.train.tokens}}},
        {"splits", {{"val", split_json(s.val)}, {"train", split_json(s.train)}}},
        {"input",
         {{"files", s.input.files},
          {"skipped_blank_documents", s.input.skipped_blank},
          {"invalid_utf8_replaced", s.input.invalid_utf8}}},
    };
    std::ofstream out(dir / "manifest.json");
    out << m.dump(2) << "\n";
    PG_CHECK(out.good(), "cannot write {}", (dir / "manifest.json").string());
}

}  // namespace

PrepareSummary prepare_dataset(const PrepareOptions& o, const PrepareProgress& progress) {
    const auto t0 = Clock::now();
    check_options(o);
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::vector<std::filesystem::path> files = expand_inputs(o.inputs);
    StagingDir staging(o.output);

    PrepareSummary s;
    s.output = o.output;
    s.threads = threads;
    s.trained_tokenizer = o.tokenizer.empty();
    Tokenizer tokenizer = count_and_train(o, files, threads, s.input, progress);
    s.seconds_tokenizer = seconds_since(t0);
    s.vocab_size = tokenizer.vocab_size();
    PG_CHECK(s.vocab_size <= 65536, "tokenizer {} has {} pieces; the shards' uint16 ids allow at most 65536",
             tokenizer.origin(), s.vocab_size);

    const int64_t total = s.input.documents;
    PG_CHECK(total >= 2,
             "the inputs hold {} usable document(s) ({} files read, {} blank documents skipped); a dataset "
             "needs at least one validation and one training document",
             total, s.input.files, s.input.skipped_blank);
    const int64_t val_docs = o.val_docs.value_or(std::max<int64_t>(1, total / 10));
    PG_CHECK(val_docs < total, "--val-docs {} leaves no training document: the inputs hold {} documents",
             val_docs, total);

    std::optional<eval::ByteLuts> luts;
    try {
        luts = eval::build_byte_luts(tokenizer, tokenizer.vocab_size());
    } catch (const Error&) {
        luts.reset();  // no standalone '▁': figures without metric bytes, reported as such
    }
    s.has_metric_bytes = luts.has_value();

    const auto t1 = Clock::now();
    encode_and_write(files, tokenizer, luts, total, val_docs, o.shard_tokens, threads, staging.path(), s, progress);
    s.seconds_encode = seconds_since(t1);

    tokenizer.save(staging.path() / "tokenizer.model");
    write_manifest(staging.path(), o, s, tokenizer, val_docs);
    staging.commit(o.output, o.force);
    s.tokenizer_model = o.output / "tokenizer.model";
    s.seconds_total = seconds_since(t0);
    return s;
}

}  // namespace pg::data
