// Reading and writing the safetensors format, the way weights move between pgolf and PyTorch
// (`safetensors.torch.load_file` reads what we write, and we read what it writes).
//
// Layout: an 8-byte little-endian header length N; N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}            (the metadata entry is optional)
// padded with spaces so the data starts 8-byte aligned; then the raw little-endian tensor data,
// offsets relative to the data start, tensors contiguous and covering the whole rest of the file.
// Supported dtypes: F32, BF16, F16, I64, I32, U16, U8, BOOL (pgolf's DTypes). Every header field
// is validated on read; problems are pg::Errors naming the file, the tensor and what is wrong.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "graph/tensor_data.h"

namespace pg::io {

using TensorMap = std::map<std::string, HostTensor>;
using MetaMap = std::map<std::string, std::string>;

// The safetensors name of a dtype ("F32", "BF16", ...).
std::string_view safetensors_dtype_name(DType t);

// One header entry: where a tensor's bytes are, relative to the start of the data section.
struct SafetensorsEntry {
    DType dtype = DType::f32;
    Shape shape;
    uint64_t begin = 0;
    uint64_t end = 0;
};

struct SafetensorsHeader {
    std::map<std::string, SafetensorsEntry> entries;
    MetaMap metadata;         // "__metadata__", empty when absent
    uint64_t data_start = 0;  // file offset of the data section: 8 + header length
};

struct SafetensorsFile {
    TensorMap tensors;
    MetaMap metadata;
};

// Writes tensors (and optional string metadata) atomically. Throws pg::Error naming the file and
// the tensor for a name that is empty or "__metadata__", or bytes that do not match dtype×shape.
// Tensors are laid out by decreasing element size, then by name, so every tensor is aligned.
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const MetaMap& metadata = {});

// Reads and validates the header only (no tensor data), including that the offsets tile the data
// section exactly and the file is not truncated.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

// Reads the whole file. Throws pg::Error naming the file (and the tensor) when it is missing,
// truncated, has an invalid header, an unsupported dtype, or a bool tensor with bytes other than 0/1.
SafetensorsFile read_safetensors(const std::filesystem::path& path);

}  // namespace pg::io
