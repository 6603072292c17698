// Content digests: SHA-256 for kernel keys (collision-resistant names of cached binaries) and a
// fast 64-bit checksum for the integrity of cache entries. Implemented with LLVM's Support
// library so that callers need no LLVM headers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pg {

// Lower-case hex SHA-256 of data (64 characters).
std::string sha256_hex(std::string_view data);

// xxHash64 of data: detects truncated or corrupted cache entries, not adversaries.
uint64_t checksum64(std::string_view data);

}  // namespace pg
