// Document reading: UTF-8 repair (matching Python's errors="replace"), text files, directories,
// JSON Lines, and the documented handling of malformed input.
#include <doctest/doctest.h>

#include "base/error.h"
#include "frontend/data/document_reader.h"
#include "frontend/data/utf8.h"
#include "tests/data/data_test_util.h"

using namespace pg;
using namespace pg::data;

namespace {

std::string repaired(std::string s) {
    repair_utf8(s);
    return s;
}

std::vector<Document> read_all(const std::vector<std::filesystem::path>& inputs, DocumentStats* stats = nullptr) {
    DocumentReader reader(expand_inputs(inputs));
    std::vector<Document> docs;
    Document d;
    while (reader.next(d)) docs.push_back(d);
    if (stats) *stats = reader.stats();
    return docs;
}

const std::string kFffd = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("data: invalid UTF-8 is repaired like Python's errors='replace'") {
    // Expected values are Python's bytes.decode("utf-8", "replace") of the same inputs.
    CHECK(repaired("\xC3\x28") == kFffd + "(");
    CHECK(repaired("ab\xE2\x82") == "ab" + kFffd);
    CHECK(repaired("\xF0\x9F\x98x") == kFffd + "x");
    CHECK(repaired("\xED\xA0\x80") == kFffd + kFffd + kFffd);  // surrogate
    CHECK(repaired("\xC0\xAF") == kFffd + kFffd);              // overlong
    CHECK(repaired("\xF4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
    CHECK(repaired("\xE0\x80\xAF") == kFffd + kFffd + kFffd);
    CHECK(repaired("ok\xFF\n\xFE") == "ok" + kFffd + "\n" + kFffd);
    const std::string valid = "plain caf\xC3\xA9 \xF0\x9F\x98\x80 \xE6\x9D\xB1";
    CHECK(repaired(valid) == valid);
    CHECK(find_invalid_utf8(valid) == std::string_view::npos);
    std::string s = "a\nb\n\xFF";
    size_t first = 0;
    CHECK(repair_utf8(s, &first) == 1);
    CHECK(first == 4);
    CHECK(line_of_offset("a\nb\n\xFF", 4) == 3);
}

TEST_CASE("data: text files, directories and JSON Lines become documents in a fixed order") {
    test::TempDir dir;
    test::write_file(dir / "corpus/b.txt", "second file");
    test::write_file(dir / "corpus/a.txt", "\xEF\xBB\xBF" "first file\nwith two lines\n");
    test::write_file(dir / "corpus/sub/c.txt", "nested");
    test::write_file(dir / "corpus/.hidden.txt", "hidden");
    test::write_file(dir / "corpus/.git/objects", "hidden dir");
    test::write_file(dir / "docs.jsonl",
                     "{\"text\": \"json one\", \"id\": 1}\n\n{\"text\": \"json \\u00e9 two\"}\r\n   \n"
                     "{\"text\": \"three\"}");
    DocumentStats stats;
    const auto docs = read_all({dir / "docs.jsonl", dir / "corpus"}, &stats);
    REQUIRE(docs.size() == 6);
    CHECK(docs[0].text == "json one");
    CHECK(docs[0].origin() == (dir / "docs.jsonl").string() + ":1");
    CHECK(docs[1].text == "json \xC3\xA9 two");
    CHECK(docs[1].line == 3);
    CHECK(docs[2].text == "three");
    CHECK(docs[2].line == 5);
    CHECK(docs[3].text == "first file\nwith two lines\n");  // BOM dropped
    CHECK(docs[3].origin() == (dir / "corpus/a.txt").string());
    CHECK(docs[4].text == "second file");
    CHECK(docs[5].text == "nested");
    CHECK(stats.documents == 6);
    CHECK(stats.files == 4);
    CHECK(stats.skipped_blank == 0);
    CHECK(stats.invalid_utf8 == 0);
}

TEST_CASE("data: malformed input is repaired, skipped or reported with file and line") {
    test::TempDir dir;
    SUBCASE("invalid UTF-8 is replaced and its first place reported") {
        test::write_file(dir / "a.txt", "good line\nbad \xFF\xFE byte\n");
        test::write_file(dir / "b.jsonl", "{\"text\": \"x\"}\n{\"text\": \"caf\xE9\"}\n");
        DocumentStats stats;
        const auto docs = read_all({dir / "a.txt", dir / "b.jsonl"}, &stats);
        REQUIRE(docs.size() == 3);
        CHECK(docs[0].text == "good line\nbad " + kFffd + kFffd + " byte\n");
        CHECK(docs[2].text == "caf" + kFffd);
        CHECK(stats.invalid_utf8 == 3);
        CHECK(stats.first_invalid_utf8 == (dir / "a.txt").string() + ":2");
    }
    SUBCASE("blank documents are skipped and counted") {
        test::write_file(dir / "in/1.txt", "");
        test::write_file(dir / "in/2.txt", " \n\t\r\n");
        test::write_file(dir / "in/3.txt", "real");
        test::write_file(dir / "in/4.jsonl", "{\"text\": \"\"}\n{\"text\": \"  \"}\n{\"text\": \"ok\"}\n");
        DocumentStats stats;
        const auto docs = read_all({dir / "in"}, &stats);
        REQUIRE(docs.size() == 2);
        CHECK(stats.skipped_blank == 4);
        CHECK(stats.first_blank == (dir / "in/1.txt").string());
    }
    const auto error_of = [&](const std::string& jsonl) {
        test::write_file(dir / "bad.jsonl", jsonl);
        try {
            read_all({dir / "bad.jsonl"});
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string where = (dir / "bad.jsonl").string() + ":2: ";
    SUBCASE("a line that is not JSON") {
        CHECK(error_of("{\"text\": \"a\"}\n{\"text\": \"unterminated}\n").find(where + "not valid JSON") == 0);
    }
    SUBCASE("a JSON value that is not an object") {
        CHECK(error_of("{\"text\": \"a\"}\n[1, 2]\n").find(where + "the line is JSON array") == 0);
    }
    SUBCASE("an object without text") {
        CHECK(error_of("{\"text\": \"a\"}\n{\"body\": \"b\"}\n").find(where + "the JSON object has no \"text\"") == 0);
    }
    SUBCASE("a text that is not a string") {
        CHECK(error_of("{\"text\": \"a\"}\n{\"text\": 5}\n").find(where + "the \"text\" field is number") == 0);
    }
    SUBCASE("missing inputs") {
        CHECK_THROWS_WITH_AS(expand_inputs({dir / "nope"}), doctest::Contains("does not exist"), Error);
        std::filesystem::create_directories(dir / "empty");
        CHECK_THROWS_WITH_AS(expand_inputs({dir / "empty"}), doctest::Contains("holds no file"), Error);
        CHECK_THROWS_AS(expand_inputs({}), Error);
    }
}
