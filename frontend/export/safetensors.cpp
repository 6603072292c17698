// safetensors reader and writer: JSON header via nlohmann::json, data streamed straight between
// the file and HostTensor bytes (a checkpoint with optimizer state is hundreds of MB, so nothing
// is staged in a second full-size buffer).
#include "frontend/export/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::io {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and HostTensor bytes are host order");

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";
// The reference implementation refuses headers above 100 MB; a larger length field means the file
// is not a safetensors file (or is corrupt), and we must not allocate on its word.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::array kAllDTypes = {DType::f32, DType::bf16, DType::f16, DType::i64,
                                   DType::i32, DType::u16,  DType::u8,  DType::boolean};
constexpr std::string_view kSupportedList = "F32, BF16, F16, I64, I32, U16, U8, BOOL";

uint64_t tensor_bytes(DType t, const Shape& shape) {
    return static_cast<uint64_t>(numel(shape)) * dtype_size(t);
}

// ---- writing --------------------------------------------------------------------------------

void check_writable_tensor(const fs::path& path, const std::string& name, const HostTensor& t) {
    PG_CHECK(!name.empty(), "cannot write {}: a tensor has an empty name", path.string());
    PG_CHECK(name != kMetadataKey, "cannot write {}: '__metadata__' is reserved for metadata and cannot name a tensor",
             path.string());
    for (int64_t d : t.shape)
        PG_CHECK(d >= 0, "cannot write {}: tensor '{}' has a negative extent in shape {}", path.string(), name,
                 shape_str(t.shape));
    PG_CHECK(t.bytes.size() == tensor_bytes(t.dtype, t.shape),
             "cannot write {}: tensor '{}' ({} {}) holds {} bytes, expected {}", path.string(), name,
             dtype_name(t.dtype), shape_str(t.shape), t.bytes.size(), tensor_bytes(t.dtype, t.shape));
}

// Tensor order in the data section: decreasing element size, then name. With an 8-aligned data
// start this keeps every tensor aligned to its element size.
std::vector<const TensorMap::value_type*> layout_order(const TensorMap& tensors) {
    std::vector<const TensorMap::value_type*> order;
    for (const auto& kv : tensors) order.push_back(&kv);
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return dtype_size(a->second.dtype) > dtype_size(b->second.dtype);
    });
    return order;
}

std::string encode_header(const fs::path& path, const std::vector<const TensorMap::value_type*>& order,
                          const MetaMap& metadata) {
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& [k, v] : metadata) meta[k] = v;
        header[std::string(kMetadataKey)] = std::move(meta);
    }
    uint64_t offset = 0;
    for (const auto* kv : order) {
        const HostTensor& t = kv->second;
        const uint64_t n = t.bytes.size();
        header[kv->first] = {{"dtype", std::string(safetensors_dtype_name(t.dtype))},
                             {"shape", t.shape},
                             {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("cannot write {}: a tensor name or metadata string is not valid UTF-8 ({})",
                                path.string(), e.what()));
    }
    // Pad with spaces (JSON whitespace) so that 8 + header length is a multiple of 8.
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

// ---- reading --------------------------------------------------------------------------------

std::ifstream open_for_reading(const fs::path& path, uint64_t& file_size) {
    std::error_code ec;
    PG_CHECK(fs::exists(path, ec), "cannot read {}: no such file; check the path", path.string());
    PG_CHECK(fs::is_regular_file(path, ec), "cannot read {}: not a regular file", path.string());
    file_size = fs::file_size(path, ec);
    PG_CHECK(!ec, "cannot read {}: {}", path.string(), ec.message());
    std::ifstream in(path, std::ios::binary);
    PG_CHECK(in.good(), "cannot read {}: opening it failed; check permissions", path.string());
    return in;
}

void read_exact(std::ifstream& in, const fs::path& path, void* dst, uint64_t n, uint64_t offset, const char* what) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    PG_CHECK(in.good() && static_cast<uint64_t>(in.gcount()) == n,
             "cannot read {}: reading {} ({} bytes at offset {}) failed; the file is truncated or unreadable",
             path.string(), what, n, offset);
}

DType parse_entry_dtype(const fs::path& path, const std::string& name, const Json& v) {
    PG_CHECK(v.is_string(), "{} is not a valid safetensors file: tensor '{}' has a non-string dtype {}",
             path.string(), name, v.dump());
    const auto s = v.get<std::string>();
    for (DType t : kAllDTypes)
        if (s == safetensors_dtype_name(t)) return t;
    throw Error(fmt::format("{}: tensor '{}' has dtype {}, which pgolf does not support (supported: {}); convert it "
                            "in PyTorch before saving",
                            path.string(), name, s, kSupportedList));
}

// A JSON value that must be a non-negative integer below 2^62 (large enough for any file, small
// enough that products and sums below do not overflow when checked step by step).
uint64_t parse_size(const fs::path& path, const std::string& name, const char* field, const Json& v) {
    constexpr uint64_t kLimit = uint64_t{1} << 62;
    const bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    PG_CHECK(ok && v.get<uint64_t>() < kLimit,
             "{} is not a valid safetensors file: tensor '{}' has {} entry {}, expected a non-negative integer",
             path.string(), name, field, v.dump());
    return v.get<uint64_t>();
}

SafetensorsEntry parse_entry(const fs::path& path, const std::string& name, const Json& v) {
    PG_CHECK(v.is_object(), "{} is not a valid safetensors file: the header entry of tensor '{}' is not an object",
             path.string(), name);
    for (const auto& [key, _] : v.items())
        PG_CHECK(key == "dtype" || key == "shape" || key == "data_offsets",
                 "{} is not a valid safetensors file: tensor '{}' has an unknown header field '{}'", path.string(),
                 name, key);
    for (const char* key : {"dtype", "shape", "data_offsets"})
        PG_CHECK(v.contains(key), "{} is not a valid safetensors file: tensor '{}' lacks the '{}' field",
                 path.string(), name, key);
    SafetensorsEntry e;
    e.dtype = parse_entry_dtype(path, name, v["dtype"]);
    const Json& shape = v["shape"];
    PG_CHECK(shape.is_array(), "{} is not a valid safetensors file: tensor '{}' has a shape that is not an array",
             path.string(), name);
    uint64_t count = 1;
    for (const Json& d : shape) {
        const uint64_t extent = parse_size(path, name, "shape", d);
        e.shape.push_back(static_cast<int64_t>(extent));
        PG_CHECK(extent == 0 || count <= (uint64_t{1} << 56) / extent,
                 "{} is not a valid safetensors file: tensor '{}' has an impossibly large shape {}", path.string(),
                 name, shape.dump());
        count *= extent;
    }
    const Json& offsets = v["data_offsets"];
    PG_CHECK(offsets.is_array() && offsets.size() == 2,
             "{} is not a valid safetensors file: tensor '{}' has data_offsets {}, expected [begin, end]",
             path.string(), name, offsets.dump());
    e.begin = parse_size(path, name, "data_offsets", offsets[0]);
    e.end = parse_size(path, name, "data_offsets", offsets[1]);
    PG_CHECK(e.begin <= e.end, "{} is not a valid safetensors file: tensor '{}' has data_offsets [{}, {}] with begin > end",
             path.string(), name, e.begin, e.end);
    const uint64_t expected = count * dtype_size(e.dtype);
    PG_CHECK(e.end - e.begin == expected,
             "{} is not a valid safetensors file: tensor '{}' ({} {}) spans {} bytes but its dtype and shape need {}",
             path.string(), name, safetensors_dtype_name(e.dtype), shape.dump(), e.end - e.begin, expected);
    return e;
}

MetaMap parse_metadata(const fs::path& path, const Json& v) {
    PG_CHECK(v.is_object(), "{} is not a valid safetensors file: __metadata__ is not an object", path.string());
    MetaMap meta;
    for (const auto& [k, value] : v.items()) {
        PG_CHECK(value.is_string(), "{} is not a valid safetensors file: __metadata__ entry '{}' is {}, expected a string",
                 path.string(), k, value.dump());
        meta[k] = value.get<std::string>();
    }
    return meta;
}

// The tensors must tile [0, data_bytes) exactly: no gaps, no overlaps, nothing after the last one.
void check_tiling(const fs::path& path, const SafetensorsHeader& h, uint64_t data_bytes) {
    std::vector<std::pair<const std::string*, const SafetensorsEntry*>> by_offset;
    for (const auto& [name, e] : h.entries) by_offset.emplace_back(&name, &e);
    std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
        return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
    });
    uint64_t pos = 0;
    for (const auto& [name, e] : by_offset) {
        PG_CHECK(e->begin == pos,
                 "{} is not a valid safetensors file: tensor '{}' starts at data offset {} but the previous tensor "
                 "ends at {} (overlapping or missing data)",
                 path.string(), *name, e->begin, pos);
        pos = e->end;
    }
    PG_CHECK(pos <= data_bytes,
             "{} is truncated: its header describes {} bytes of tensor data but only {} follow the header; the "
             "file was cut short (re-copy or re-export it)",
             path.string(), pos, data_bytes);
    PG_CHECK(pos == data_bytes,
             "{} is not a valid safetensors file: {} unexpected bytes follow the last tensor's data", path.string(),
             data_bytes - pos);
}

SafetensorsHeader read_header(std::ifstream& in, const fs::path& path, uint64_t file_size) {
    PG_CHECK(file_size >= 8,
             "{} is not a safetensors file: it is {} bytes, shorter than the 8-byte header length (truncated?)",
             path.string(), file_size);
    uint8_t len_bytes[8];
    read_exact(in, path, len_bytes, 8, 0, "the header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    PG_CHECK(header_len <= kMaxHeaderBytes,
             "{} is not a safetensors file: its first 8 bytes give a header length of {} bytes (limit {})",
             path.string(), header_len, kMaxHeaderBytes);
    PG_CHECK(8 + header_len <= file_size,
             "{} is truncated or not a safetensors file: the header needs {} bytes but the file has {}",
             path.string(), 8 + header_len, file_size);
    std::string text(header_len, '\0');
    read_exact(in, path, text.data(), header_len, 8, "the JSON header");
    Json json;
    try {
        json = Json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(fmt::format("{} is not a valid safetensors file: its header is not valid JSON ({})", path.string(),
                                e.what()));
    }
    PG_CHECK(json.is_object(), "{} is not a valid safetensors file: its header is not a JSON object", path.string());
    SafetensorsHeader h;
    h.data_start = 8 + header_len;
    for (const auto& [name, v] : json.items()) {
        if (name == kMetadataKey) {
            h.metadata = parse_metadata(path, v);
            continue;
        }
        h.entries[name] = parse_entry(path, name, v);
    }
    check_tiling(path, h, file_size - h.data_start);
    return h;
}

}  // namespace

std::string_view safetensors_dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "F32";
        case DType::bf16: return "BF16";
        case DType::f16: return "F16";
        case DType::i64: return "I64";
        case DType::i32: return "I32";
        case DType::u16: return "U16";
        case DType::u8: return "U8";
        case DType::boolean: return "BOOL";
    }
    PG_UNREACHABLE("dtype {}", static_cast<int>(t));
}

void write_safetensors(const fs::path& path, const TensorMap& tensors, const MetaMap& metadata) {
    for (const auto& [name, t] : tensors) check_writable_tensor(path, name, t);
    const auto order = layout_order(tensors);
    const std::string header = encode_header(path, order, metadata);
    write_file_atomically(path, [&](AtomicFile& f) {
        uint8_t len_bytes[8];
        uint64_t n = header.size();
        for (auto& b : len_bytes) {
            b = static_cast<uint8_t>(n & 0xff);
            n >>= 8;
        }
        f.write(len_bytes, 8);
        f.write(header);
        for (const auto* kv : order) f.write(kv->second.bytes.data(), kv->second.bytes.size());
    });
}

SafetensorsHeader read_safetensors_header(const fs::path& path) {
    uint64_t file_size = 0;
    std::ifstream in = open_for_reading(path, file_size);
    return read_header(in, path, file_size);
}

SafetensorsFile read_safetensors(const fs::path& path) {
    uint64_t file_size = 0;
    std::ifstream in = open_for_reading(path, file_size);
    SafetensorsHeader h = read_header(in, path, file_size);
    SafetensorsFile out;
    out.metadata = std::move(h.metadata);
    for (const auto& [name, e] : h.entries) {
        HostTensor t(e.dtype, e.shape);
        const std::string what = fmt::format("tensor '{}'", name);
        read_exact(in, path, t.bytes.data(), t.bytes.size(), h.data_start + e.begin, what.c_str());
        if (e.dtype == DType::boolean) {
            const bool ok = std::all_of(t.bytes.begin(), t.bytes.end(), [](uint8_t b) { return b <= 1; });
            PG_CHECK(ok, "{}: bool tensor '{}' holds bytes other than 0 and 1; the file is corrupt", path.string(),
                     name);
        }
        out.tensors.emplace(name, std::move(t));
    }
    return out;
}

}  // namespace pg::io
