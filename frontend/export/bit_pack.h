// Packing of sub-byte integer codes (pgolf-spec §4.5 "Bit packing"): codes in [-R, R] of a
// b-bit format (R = 2^(b-1) - 1) become the unsigned values q + R, written as a little-endian
// bit stream of b bits each (code i occupies bits [i*b, (i+1)*b) of the stream, bit 0 being the
// least significant bit of byte 0); ternary codes (b = 2) go base 3, five per byte
// (sum of (t_i + 1) * 3^i), as the ternary record does. 8-bit codes are the int8 bytes.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pg::io {

// Bytes the packed form of `count` codes of `bits` bits takes.
int64_t packed_size(int64_t count, int bits);

// Appends the packed codes to `out`. Codes must lie in [-R, R] (an internal error otherwise).
void pack_codes(std::span<const int8_t> codes, int bits, std::string& out);

// The inverse; `packed` must hold exactly packed_size(count, bits) bytes. Returns false when a
// value lies outside [-R, R] or padding bits are set (a corrupt artifact).
bool unpack_codes(std::span<const uint8_t> packed, int bits, std::span<int8_t> codes);

}  // namespace pg::io
