// Reads the documents of `pgolf prepare`'s inputs, in a fixed order, one at a time.
//
// Inputs and what a document is:
//   - a file ending in .jsonl or .ndjson: JSON Lines, one document per line, the string field
//     "text" of a JSON object (parsed with nlohmann::json);
//   - any other file: plain UTF-8 text, the whole file is one document (a leading UTF-8 byte-order
//     mark is dropped);
//   - a directory: every file below it, recursively, in lexicographic path order; names starting
//     with '.' (files and folders) are skipped.
// Malformed input, as decided for pgolf:
//   - invalid UTF-8 is repaired, each maximal ill-formed subsequence becoming U+FFFD (like Python's
//     errors="replace"); the count and the first place (file:line) are reported in the stats.
//     (SentencePiece's nmt_nfkc normalisation then encodes each U+FFFD as a space);
//   - a blank document (empty, or only ASCII whitespace) is skipped and counted, since it would
//     contribute nothing but a BOS token; blank lines of a JSON Lines file are not documents;
//   - a JSON line that does not parse, is not an object, or lacks a string "text" field throws
//     pg::Error naming file:line: a corrupt line means a corrupt export, which is not guessed at;
//   - a missing or unreadable path throws pg::Error naming it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pg::data {

struct Document {
    std::string text;
    std::filesystem::path file;
    int64_t line = 0;  // 1-based line of a JSON Lines document; 0 for a whole-file document

    // "file" or "file:line": where the document came from, for messages.
    std::string origin() const;
};

struct DocumentStats {
    int64_t documents = 0;    // documents returned
    int64_t files = 0;        // files opened
    int64_t text_bytes = 0;   // UTF-8 bytes of the returned texts (after repair)
    int64_t skipped_blank = 0;
    std::string first_blank;  // origin of the first skipped blank document
    int64_t invalid_utf8 = 0; // ill-formed sequences replaced with U+FFFD
    std::string first_invalid_utf8;  // file:line of the first one
};

// True for .jsonl / .ndjson files.
bool is_json_lines(const std::filesystem::path& file);

// Expands files and directories into the ordered list of files to read. Throws pg::Error for a
// path that does not exist and when the inputs hold no file at all.
std::vector<std::filesystem::path> expand_inputs(const std::vector<std::filesystem::path>& inputs);

class DocumentReader {
public:
    // `files` as returned by expand_inputs.
    explicit DocumentReader(std::vector<std::filesystem::path> files);

    // Fills `doc` with the next document; false at the end.
    bool next(Document& doc);

    const DocumentStats& stats() const { return stats_; }

private:
    bool next_json_line(Document& doc);
    void read_text_file(const std::filesystem::path& file, Document& doc);
    // Repairs UTF-8 and records where; `line_base` is the line of text[0] in the file.
    void repair(std::string& text, const std::filesystem::path& file, int64_t line_base);
    bool accept(Document& doc);

    std::vector<std::filesystem::path> files_;
    size_t next_file_ = 0;
    std::ifstream jsonl_;
    std::filesystem::path jsonl_path_;
    int64_t jsonl_line_ = 0;
    std::string line_buffer_;
    DocumentStats stats_;
};

}  // namespace pg::data
