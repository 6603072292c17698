// The submission artifact: the int8-quantized model (quantize.h) in a compact binary container,
// compressed with zstd at level 22. It plays the role of the baseline's final_model.int8.ptz
// (torch.save + zlib-9); its size is what counts against the 16,000,000-byte cap.
//
// File = one zstd frame (level 22, content size and checksum recorded; `zstd -d` unpacks it)
// whose content is the container, all integers little-endian:
//   magic "PGQ8" | u32 version (1) | u32 tensor count | records, in name order:
//     u32 name length | name (UTF-8)
//     u8 scheme      0 passthrough, 1 int8 per row, 2 int8 per tensor
//     u8 orig dtype  | u8 out dtype | u8 stored dtype      (dtype codes below)
//     u8 ndim        | i64 extent × ndim
//     payload        passthrough:      numel × size(stored dtype) bytes, the stored tensor
//                    int8 per row:     rows × fp16 scale, then numel × int8 q
//                    int8 per tensor:  one fp32 scale, then numel × int8 q
//   Dtype codes: 0 f32, 1 bf16, 2 f16, 3 i64, 4 i32, 5 u16, 6 u8, 7 bool; for the int8 schemes
//   the stored dtype byte is 0xFF. Nothing may follow the last record.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "frontend/export/quantize.h"

namespace pg::io {

inline constexpr std::string_view kArtifactFileName = "final_model.int8.zst";
inline constexpr int kArtifactZstdLevel = 22;

struct ArtifactInfo {
    uint64_t compressed_bytes = 0;  // the file size: what counts against the cap
    uint64_t raw_bytes = 0;         // the uncompressed container
};

// The container bytes (uncompressed) and back. decode throws pg::Error naming `source` for a bad
// magic, an unknown version, scheme or dtype, a size that does not match, or a truncated record.
std::string encode_quantized(const QuantizedModel& model);
QuantizedModel decode_quantized(std::string_view bytes, std::string_view source);

// zstd at kArtifactZstdLevel with a content checksum, and the checked inverse (throws pg::Error
// naming `source` for a frame that is corrupt, truncated, or followed by stray bytes).
std::string compress_artifact(std::string_view raw);
std::string decompress_artifact(std::string_view compressed, std::string_view source);

// Writes the artifact atomically and returns its sizes.
ArtifactInfo save_artifact(const std::filesystem::path& path, const QuantizedModel& model);

// Reads and decodes an artifact; load_artifact_weights also dequantizes it into the state dict
// the model is evaluated with. Throws pg::Error naming the file for any damage.
QuantizedModel load_artifact(const std::filesystem::path& path);
TensorMap load_artifact_weights(const std::filesystem::path& path);

}  // namespace pg::io
