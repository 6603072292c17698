// SHA-256 and xxHash64 over LLVM's Support library (see digest.h).
#include "base/digest.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/xxhash.h>

namespace pg {

std::string sha256_hex(std::string_view data) {
    auto bytes = llvm::SHA256::hash(
        llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (uint8_t b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

uint64_t checksum64(std::string_view data) { return llvm::xxHash64(llvm::StringRef(data.data(), data.size())); }

}  // namespace pg
