// The submission artifact: the quantized model (quantize.h) in a compact binary container,
// compressed by one of the compressors of compressor.h. It plays the role of the baseline's
// final_model.int8.ptz (torch.save + zlib-9); its file size is what counts against the
// 16,000,000-byte cap.
//
// File (version 2), all integers little-endian:
//   magic "PGOLFART" | u32 version (2) | u8 compressor kind (1 zstd, 2 xz, 3 brotli) | u8 level |
//   u8 compressor flag (zstd long mode / xz extreme) | u8 packing (0 byte codes, 1 bit-packed) |
//   u32 scheme length | scheme (the QuantPlan in canonical form, UTF-8) |
//   u64 container size | u64 xxHash64 of the container | the compressed container (rest of file).
// Container:
//   magic "PGQ8" | u32 version (2) | u32 tensor count | records, in name order:
//     u32 name length | name (UTF-8)
//     u8 scheme      0 passthrough, 1 per row, 2 per tensor (int8), 3 per group
//     u8 bits        code width of the integer schemes (2 = ternary), 0 for passthrough
//     u8 orig dtype  | u8 out dtype | u8 stored dtype      (dtype codes below)
//     u8 ndim        | i64 extent × ndim | per group only: i64 group size
//     payload        passthrough:  numel × size(stored dtype) bytes, the stored tensor
//                    per row:      rows × fp16 scale, then the codes
//                    per group:    rows × (cols / group) fp16 scales, then the codes
//                    per tensor:   one fp32 scale, then the codes
//   codes: numel int8 bytes, or with packing 1 the bit_pack.h stream of `bits`-bit codes.
//   Dtype codes: 0 f32, 1 bf16, 2 f16, 3 i64, 4 i32, 5 u16, 6 u8, 7 bool; for the integer schemes
//   the stored dtype byte is 0xFF. Nothing may follow the last record.
// Version 1 files (a bare zstd frame holding a version-1 container: int8 only, no bits or packing
// bytes) are still read.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/export/compressor.h"
#include "frontend/export/quantize.h"

namespace pg::io {

inline constexpr std::string_view kArtifactMagic = "PGOLFART";

// How the container is laid out and compressed.
struct ArtifactOptions {
    std::string scheme;           // recorded in the header (QuantPlan::canonical())
    Compressor compressor;
    bool pack_bits = false;       // bit-pack sub-byte codes (QUANT_PACK=bits)
};

// QUANT_PACK=bits (bit-packed codes) or bytes (one byte per code, the default: byte-aligned codes
// usually compress better, as the records' int6-in-int8 containers do).
bool pack_bits_from_settings();

struct ArtifactInfo {
    uint64_t compressed_bytes = 0;  // the file size: what counts against the cap
    uint64_t raw_bytes = 0;         // the uncompressed container
    Compressor compressor;
    std::string scheme;
    bool pack_bits = false;
    // save_artifact only: the file size with each compressor tried, in the order given.
    std::vector<std::pair<Compressor, uint64_t>> tried;
};

// The file name the trainer writes: final_model.<scheme label>.<zst|xz|br>.
std::string artifact_file_name(const std::string& label, const Compressor& c);

// The container bytes (uncompressed) and back. decode throws pg::Error naming `source` for a bad
// magic, an unknown version, scheme or dtype, a size that does not match, or a truncated record.
std::string encode_quantized(const QuantizedModel& model, bool pack_bits = false);
QuantizedModel decode_quantized(std::string_view bytes, std::string_view source);

// The whole file's bytes, and the checked inverse: throws pg::Error naming `source` for a bad
// magic, an unknown version or compressor, a checksum mismatch, corrupt or truncated data.
std::string encode_artifact(const QuantizedModel& model, const ArtifactOptions& options);
QuantizedModel decode_artifact(std::string_view file, std::string_view source, ArtifactInfo* info = nullptr);

// Writes the artifact atomically with the smallest of `choices` and returns its sizes.
ArtifactInfo save_artifact(const std::filesystem::path& path, const QuantizedModel& model, const std::string& scheme,
                           const std::vector<Compressor>& choices, bool pack_bits);
// The baseline's artifact: zstd-22, byte codes, the default scheme.
ArtifactInfo save_artifact(const std::filesystem::path& path, const QuantizedModel& model);

// Reads and decodes an artifact; load_artifact_weights also dequantizes it into the state dict
// the model is evaluated with. Throws pg::Error naming the file for any damage.
QuantizedModel load_artifact(const std::filesystem::path& path, ArtifactInfo* info = nullptr);
TensorMap load_artifact_weights(const std::filesystem::path& path);

}  // namespace pg::io
