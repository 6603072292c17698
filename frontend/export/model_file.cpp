// Recognising and loading the three model file kinds by content.
#include "frontend/export/model_file.h"

#include <algorithm>
#include <fstream>

#include "base/error.h"
#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"

namespace pg::io {

namespace fs = std::filesystem;

namespace {

// The first four bytes of every zstd frame (0xFD2FB528, little-endian): a version-1 artifact.
constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

}  // namespace

std::string_view model_file_kind_name(ModelFileKind k) {
    switch (k) {
        case ModelFileKind::checkpoint: return "checkpoint";
        case ModelFileKind::safetensors: return "safetensors";
        case ModelFileKind::artifact: return "artifact";
    }
    PG_UNREACHABLE("model file kind {}", static_cast<int>(k));
}

ModelFileKind detect_model_file(const fs::path& path) {
    std::error_code ec;
    PG_CHECK(fs::is_regular_file(path, ec), "cannot read {}: no such file; check the path", path.string());
    unsigned char head[9] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(head), sizeof(head));
    const auto got = static_cast<size_t>(in.gcount());
    if (got >= 4 && std::equal(kZstdMagic, kZstdMagic + 4, head)) return ModelFileKind::artifact;
    if (got >= kArtifactMagic.size() && std::equal(kArtifactMagic.begin(), kArtifactMagic.end(), head))
        return ModelFileKind::artifact;
    // safetensors: 8-byte header length, then a JSON object.
    PG_CHECK(got == 9 && head[8] == '{',
             "{} is neither a checkpoint, a safetensors file nor an artifact; give a file written by "
             "`pgolf train` or `pgolf export`, or a safetensors file",
             path.string());
    const SafetensorsHeader h = read_safetensors_header(path);
    auto it = h.metadata.find(std::string(kFormatKey));
    return it != h.metadata.end() && it->second == kFormatValue ? ModelFileKind::checkpoint
                                                                : ModelFileKind::safetensors;
}

TensorMap load_model_weights(const fs::path& path) {
    switch (detect_model_file(path)) {
        case ModelFileKind::artifact: return load_artifact_weights(path);
        case ModelFileKind::checkpoint: return model_params(load_checkpoint(path).tensors);
        case ModelFileKind::safetensors: return model_params(read_safetensors(path).tensors);
    }
    PG_UNREACHABLE("model file kind");
}

}  // namespace pg::io
