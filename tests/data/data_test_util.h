// Helpers shared by the data tests: a self-removing temporary folder, file writing, running a
// shell command with its output, finding a Python that has the sentencepiece module, and a small
// deterministic corpus with a few non-ASCII characters that end up as byte-fallback pieces.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_files.h"

namespace pg::test {

// A temporary folder named pgolf-data-test-XXXXXX.
class TempDir : public testing::TempDir {
public:
    TempDir() : testing::TempDir("pgolf-data-test") {}
};

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

using testing::CommandResult;
using testing::read_file;
using testing::run_command;

// The first of python3 (PATH) and /usr/bin/python3 that imports every module named.
inline std::optional<std::string> python_with(const std::vector<std::string>& modules) {
    std::string imports;
    for (const auto& m : modules) imports += (imports.empty() ? "import " : ", ") + m;
    for (const char* py : {"python3", "/usr/bin/python3"}) {
        if (run_command(std::string(py) + " -c '" + imports + "'").status == 0) return std::string(py);
    }
    return std::nullopt;
}

// `docs` documents of about `words` words each: common English words, punctuation, digits, and
// now and then a rare non-ASCII word (accents, Greek, CJK, an emoji) so that a small tokenizer
// with character_coverage 0.999 has to use byte fallback for some of them. With `messy`, it also
// has text that NFKC normalisation changes: ligatures, newlines, runs of spaces, a leading space.
inline std::vector<std::string> synthetic_corpus(int docs, int words, bool messy = false, uint32_t seed = 7) {
    static const std::vector<std::string> common = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they",
        "you", "were", "her", "she", "there", "been", "one", "all", "we", "their", "has", "would", "when",
        "what", "more", "about", "water", "river", "city", "people", "language", "number", "year", "model",
        "golf", "parameter", "bytes", "token", "tokens", "window", "stride", "shard", "training"};
    static const std::vector<std::string> rare = {"café", "naïve", "Ελληνικά", "東京", "😀", "Ørsted"};
    static const std::vector<std::string> odd = {" \xEF\xAC\x81ne ", "\n\n", "   ", "\t", " \xE2\x91\xA0 "};
    std::mt19937 rng(seed);
    std::vector<std::string> out;
    for (int d = 0; d < docs; ++d) {
        std::string text = messy && d % 2 == 0 ? " " : "";
        for (int w = 0; w < words; ++w) {
            const uint32_t r = rng() % 1000;
            std::string word = r < 8 ? rare[rng() % rare.size()] : common[rng() % common.size()];
            if (r >= 8 && r < 40) word = std::to_string(rng() % 2000);
            if (w == 0 || r % 97 == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
            if (w > 0) text += messy && r % 23 == 0 ? odd[rng() % odd.size()] : " ";
            text += word;
            if (r % 11 == 0) text += ",";
            if (r % 17 == 0) text += ".";
        }
        out.push_back(text + (messy ? ".\n" : "."));
    }
    return out;
}

}  // namespace pg::test
