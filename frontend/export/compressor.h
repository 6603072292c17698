// The artifact's compressors (pgolf-spec §4.5 "Compressors"), from their Debian libraries:
// zstd (levels 1..22, optional long-distance mode), xz/LZMA (presets 0..9, optional extreme) and
// Brotli (quality 0..11, window 2^24). The COMPRESSOR setting names one, e.g. zstd-22, zstd-22-long,
// xz-9e, brotli-11, or `auto`: compress with each of zstd-22, zstd-22-long, xz-9e and brotli-11 and
// keep the smallest.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pg::io {

enum class CompressorKind : uint8_t { zstd = 1, xz = 2, brotli = 3 };

struct Compressor {
    CompressorKind kind = CompressorKind::zstd;
    int level = 22;
    bool extra = false;  // zstd: long-distance matching; xz: the extreme preset

    std::string name() const;  // "zstd-22", "zstd-22-long", "xz-9e", "brotli-11"
    std::string family() const;  // "zstd", "xz", "brotli": the name in final_* log lines
    bool operator==(const Compressor&) const = default;
};

// Parses one compressor name; `auto` is not one (see compressor_choices). Throws pg::Error naming
// `setting` and the bad value.
Compressor parse_compressor(std::string_view text, std::string_view setting = "COMPRESSOR");

// The compressors a COMPRESSOR value stands for: one, or the four candidates of `auto`.
std::vector<Compressor> compressor_choices(std::string_view text, std::string_view setting = "COMPRESSOR");
std::vector<Compressor> compressor_choices_from_settings();

// Compresses `raw`. decompress checks the result is exactly `raw_size` bytes and throws pg::Error
// naming `source` for corrupt or truncated data.
std::string compress(std::string_view raw, const Compressor& c);
std::string decompress(std::string_view data, const Compressor& c, uint64_t raw_size, std::string_view source);

}  // namespace pg::io
