// Bit packing of integer codes (see bit_pack.h).
#include "frontend/export/bit_pack.h"

#include <cstring>

#include "base/error.h"

namespace pg::io {

namespace {

constexpr int kTritsPerByte = 5;  // 3^5 = 243 <= 256

int code_range(int bits) { return (1 << (bits - 1)) - 1; }

void pack_trits(std::span<const int8_t> codes, std::string& out) {
    for (size_t i = 0; i < codes.size(); i += kTritsPerByte) {
        int byte = 0;
        for (int k = kTritsPerByte - 1; k >= 0; --k) {
            const size_t j = i + static_cast<size_t>(k);
            byte = byte * 3 + (j < codes.size() ? codes[j] + 1 : 0);
        }
        out.push_back(static_cast<char>(byte));
    }
}

bool unpack_trits(std::span<const uint8_t> packed, std::span<int8_t> codes) {
    for (size_t b = 0; b < packed.size(); ++b) {
        int byte = packed[b];
        if (byte >= 243) return false;
        for (int k = 0; k < kTritsPerByte; ++k) {
            const size_t j = b * kTritsPerByte + static_cast<size_t>(k);
            const int t = byte % 3;
            byte /= 3;
            if (j < codes.size()) codes[j] = static_cast<int8_t>(t - 1);
            else if (t != 0) return false;  // padding trits are 0
        }
    }
    return true;
}

}  // namespace

int64_t packed_size(int64_t count, int bits) {
    if (bits == 2) return (count + kTritsPerByte - 1) / kTritsPerByte;
    return (count * bits + 7) / 8;
}

void pack_codes(std::span<const int8_t> codes, int bits, std::string& out) {
    PG_ASSERT(bits >= 2 && bits <= 8, "pack_codes of {}-bit codes", bits);
    const int range = code_range(bits);
    for (int8_t c : codes) PG_ASSERT(c >= -range && c <= range, "code {} outside [-{}, {}]", c, range, range);
    if (bits == 8) {
        out.append(reinterpret_cast<const char*>(codes.data()), codes.size());
        return;
    }
    if (bits == 2) {
        pack_trits(codes, out);
        return;
    }
    uint32_t acc = 0;
    int filled = 0;
    for (int8_t c : codes) {
        acc |= static_cast<uint32_t>(c + range) << filled;
        filled += bits;
        while (filled >= 8) {
            out.push_back(static_cast<char>(acc & 0xFF));
            acc >>= 8;
            filled -= 8;
        }
    }
    if (filled > 0) out.push_back(static_cast<char>(acc & 0xFF));
}

bool unpack_codes(std::span<const uint8_t> packed, int bits, std::span<int8_t> codes) {
    PG_ASSERT(bits >= 2 && bits <= 8, "unpack_codes of {}-bit codes", bits);
    PG_ASSERT(static_cast<int64_t>(packed.size()) == packed_size(static_cast<int64_t>(codes.size()), bits),
              "unpack_codes: {} bytes for {} codes", packed.size(), codes.size());
    const int range = code_range(bits);
    if (bits == 2) return unpack_trits(packed, codes);
    if (bits == 8) {
        std::memcpy(codes.data(), packed.data(), codes.size());
        for (int8_t c : codes)
            if (c < -range) return false;
        return true;
    }
    const uint32_t mask = (1u << bits) - 1;
    uint32_t acc = 0;
    int filled = 0;
    size_t next = 0;
    for (int8_t& c : codes) {
        while (filled < bits) {
            acc |= static_cast<uint32_t>(packed[next++]) << filled;
            filled += 8;
        }
        const auto u = static_cast<int>(acc & mask);
        if (u > 2 * range) return false;
        c = static_cast<int8_t>(u - range);
        acc >>= bits;
        filled -= bits;
    }
    return acc == 0;  // the last byte's padding bits are zero
}

}  // namespace pg::io
