// UTF-8 validation and repair for input documents. Invalid input is repaired the way Python's
// bytes.decode("utf-8", errors="replace") does it: every maximal ill-formed subsequence (Unicode's
// "substitution of maximal subparts": a stray continuation byte, a truncated sequence, an overlong
// form, a surrogate, a code point above U+10FFFF) becomes one U+FFFD.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pg::data {

// Byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);

// Replaces every maximal ill-formed subsequence with U+FFFD (EF BF BD); returns how many were
// replaced (0 leaves `text` untouched). `first_offset`, when given, receives the byte offset of the
// first one in the original text.
int64_t repair_utf8(std::string& text, size_t* first_offset = nullptr);

// 1-based line number of byte `offset` in `text`.
int64_t line_of_offset(std::string_view text, size_t offset);

}  // namespace pg::data
