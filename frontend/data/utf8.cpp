// UTF-8 validation and repair (see utf8.h).
#include "frontend/data/utf8.h"

#include <algorithm>

namespace pg::data {
namespace {

// Length of the well-formed sequence at text[i], or 0 when it is ill-formed; `bad_len` then
// receives the length of its maximal subpart (>= 1), the bytes that one U+FFFD replaces.
size_t sequence_at(std::string_view text, size_t i, size_t& bad_len) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) return 1;
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;  // no overlong forms
        if (b == 0xED) hi = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;  // no overlong forms
        if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        bad_len = 1;  // stray continuation byte, C0/C1, F5..FF
        return 0;
    }
    for (size_t k = 1; k <= need; ++k) {
        if (i + k >= text.size()) {
            bad_len = k;
            return 0;
        }
        const auto c = static_cast<unsigned char>(text[i + k]);
        const unsigned char min = k == 1 ? lo : 0x80;
        const unsigned char max = k == 1 ? hi : 0xBF;
        if (c < min || c > max) {
            bad_len = k;
            return 0;
        }
    }
    return need + 1;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        size_t bad = 0;
        const size_t len = sequence_at(text, i, bad);
        if (len == 0) return i;
        i += len;
    }
    return std::string_view::npos;
}

int64_t repair_utf8(std::string& text, size_t* first_offset) {
    size_t i = find_invalid_utf8(text);
    if (i == std::string_view::npos) return 0;
    if (first_offset) *first_offset = i;
    std::string out(text, 0, i);
    out.reserve(text.size() + 16);
    int64_t replaced = 0;
    while (i < text.size()) {
        size_t bad = 0;
        const size_t len = sequence_at(text, i, bad);
        if (len > 0) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++replaced;
            i += bad;
        }
    }
    text = std::move(out);
    return replaced;
}

int64_t line_of_offset(std::string_view text, size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

}  // namespace pg::data
