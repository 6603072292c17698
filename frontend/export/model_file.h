// Model files the commands accept (`pgolf eval --model FILE`, `pgolf export --model FILE`):
// a pgolf checkpoint, a plain safetensors file (e.g. exported from PyTorch), or an artifact.
// The kind is recognised by content, not by file name.
#pragma once
#include <filesystem>
#include <string_view>

#include "frontend/export/safetensors.h"

namespace pg::io {

enum class ModelFileKind { checkpoint, safetensors, artifact };
std::string_view model_file_kind_name(ModelFileKind k);  // "checkpoint", "safetensors", "artifact"

// Looks at the file's first bytes (the artifact magic, a version-1 artifact's zstd frame magic,
// or a safetensors header and its metadata).
// Throws pg::Error naming the file when it is missing or none of the three.
ModelFileKind detect_model_file(const std::filesystem::path& path);

// The model parameters stored in any of the three kinds: a checkpoint without its optimizer
// state, a safetensors file's tensors (optimizer-state names dropped), or a dequantized artifact.
TensorMap load_model_weights(const std::filesystem::path& path);

}  // namespace pg::io
