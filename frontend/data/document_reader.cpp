// Document reading for `pgolf prepare` (see document_reader.h for the input rules).
#include "frontend/data/document_reader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "base/error.h"
#include "frontend/data/utf8.h"

namespace pg::data {
namespace {

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    });
}

bool is_hidden(const std::filesystem::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

std::string Document::origin() const {
    return line > 0 ? fmt::format("{}:{}", file.string(), line) : file.string();
}

bool is_json_lines(const std::filesystem::path& file) {
    const std::string ext = file.extension().string();
    return ext == ".jsonl" || ext == ".ndjson";
}

std::vector<std::filesystem::path> expand_inputs(const std::vector<std::filesystem::path>& inputs) {
    PG_CHECK(!inputs.empty(), "no input given; pass --input FILE_OR_DIR (text files, directories, .jsonl)");
    std::vector<std::filesystem::path> files;
    for (const auto& input : inputs) {
        std::error_code ec;
        const auto status = std::filesystem::status(input, ec);
        PG_CHECK(std::filesystem::exists(status), "input {} does not exist", input.string());
        if (std::filesystem::is_regular_file(status)) {
            files.push_back(input);
            continue;
        }
        PG_CHECK(std::filesystem::is_directory(status), "input {} is neither a file nor a directory",
                 input.string());
        std::vector<std::filesystem::path> found;
        std::filesystem::recursive_directory_iterator it(
            input, std::filesystem::directory_options::follow_directory_symlink, ec);
        PG_CHECK(!ec, "cannot list input directory {}: {}", input.string(), ec.message());
        for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            PG_CHECK(!ec, "cannot list input directory {}: {}", input.string(), ec.message());
            if (is_hidden(it->path())) {
                if (it->is_directory()) it.disable_recursion_pending();
                continue;
            }
            if (it->is_regular_file()) found.push_back(it->path());
        }
        PG_CHECK(!ec, "cannot list input directory {}: {}", input.string(), ec.message());
        std::sort(found.begin(), found.end());
        PG_CHECK(!found.empty(), "input directory {} holds no file", input.string());
        files.insert(files.end(), found.begin(), found.end());
    }
    return files;
}

DocumentReader::DocumentReader(std::vector<std::filesystem::path> files) : files_(std::move(files)) {}

void DocumentReader::repair(std::string& text, const std::filesystem::path& file, int64_t line_base) {
    const size_t first = find_invalid_utf8(text);
    if (first == std::string_view::npos) return;
    if (stats_.first_invalid_utf8.empty())
        stats_.first_invalid_utf8 = fmt::format("{}:{}", file.string(), line_base - 1 + line_of_offset(text, first));
    stats_.invalid_utf8 += repair_utf8(text);
}

bool DocumentReader::accept(Document& doc) {
    if (is_blank(doc.text)) {
        if (stats_.skipped_blank++ == 0) stats_.first_blank = doc.origin();
        return false;
    }
    ++stats_.documents;
    stats_.text_bytes += static_cast<int64_t>(doc.text.size());
    return true;
}

void DocumentReader::read_text_file(const std::filesystem::path& file, Document& doc) {
    std::ifstream in(file, std::ios::binary);
    PG_CHECK(in.good(), "cannot open input file {}: {}", file.string(), std::strerror(errno));
    doc.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    PG_CHECK(!in.bad(), "cannot read input file {}: {}", file.string(), std::strerror(errno));
    if (doc.text.compare(0, kUtf8Bom.size(), kUtf8Bom) == 0) doc.text.erase(0, kUtf8Bom.size());
    doc.file = file;
    doc.line = 0;
    repair(doc.text, file, 1);
}

bool DocumentReader::next_json_line(Document& doc) {
    while (std::getline(jsonl_, line_buffer_)) {
        ++jsonl_line_;
        if (!line_buffer_.empty() && line_buffer_.back() == '\r') line_buffer_.pop_back();
        if (jsonl_line_ == 1 && line_buffer_.compare(0, kUtf8Bom.size(), kUtf8Bom) == 0)
            line_buffer_.erase(0, kUtf8Bom.size());
        if (is_blank(line_buffer_)) continue;
        repair(line_buffer_, jsonl_path_, jsonl_line_);
        const std::string where = fmt::format("{}:{}", jsonl_path_.string(), jsonl_line_);
        nlohmann::json value;
        try {
            value = nlohmann::json::parse(line_buffer_);
        } catch (const nlohmann::json::parse_error& e) {
            throw Error(fmt::format("{}: not valid JSON ({}); each line of a JSON Lines file must be one "
                                    "object with a string field \"text\"",
                                    where, e.what()));
        }
        PG_CHECK(value.is_object(), "{}: the line is JSON {} but must be an object with a string field \"text\"",
                 where, value.type_name());
        auto text = value.find("text");
        PG_CHECK(text != value.end(), "{}: the JSON object has no \"text\" field", where);
        PG_CHECK(text->is_string(), "{}: the \"text\" field is {}, not a string", where, text->type_name());
        doc.text = text->get<std::string>();
        doc.file = jsonl_path_;
        doc.line = jsonl_line_;
        return true;
    }
    PG_CHECK(!jsonl_.bad(), "cannot read input file {}: {}", jsonl_path_.string(), std::strerror(errno));
    jsonl_.close();
    return false;
}

bool DocumentReader::next(Document& doc) {
    while (true) {
        if (jsonl_.is_open()) {
            if (next_json_line(doc)) {
                if (accept(doc)) return true;
                continue;
            }
        }
        if (next_file_ >= files_.size()) return false;
        const std::filesystem::path& file = files_[next_file_++];
        ++stats_.files;
        if (is_json_lines(file)) {
            jsonl_.clear();
            jsonl_.open(file, std::ios::binary);
            PG_CHECK(jsonl_.is_open(), "cannot open input file {}: {}", file.string(), std::strerror(errno));
            jsonl_path_ = file;
            jsonl_line_ = 0;
            continue;
        }
        read_text_file(file, doc);
        if (accept(doc)) return true;
    }
}

}  // namespace pg::data
