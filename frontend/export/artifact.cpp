// Artifact file and container encoding/decoding, with bounds checks on every field (see
// artifact.h for the byte layout).
#include "frontend/export/artifact.h"

#include <zstd.h>

#include <array>
#include <bit>
#include <cstring>

#include "base/atomic_file.h"
#include "base/digest.h"
#include "base/env.h"
#include "base/error.h"
#include "frontend/export/bit_pack.h"
#include "frontend/export/file_bytes.h"

namespace pg::io {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "the artifact is little-endian, written from host order");

namespace {

PG_KNOB({.name = "QUANT_PACK", .kind = env::KnobKind::String, .default_value = "bytes",
         .doc = "artifact codes: bytes (one byte per code) or bits (sub-byte codes bit-packed)",
         .choices = {"bytes", "bits"}});

constexpr std::string_view kContainerMagic = "PGQ8";
constexpr uint32_t kFileVersion = 2;
constexpr uint32_t kContainerVersion = 2;
constexpr uint8_t kNoDType = 0xFF;
constexpr size_t kMaxRank = 16;
constexpr size_t kMaxSchemeBytes = 4096;
// An artifact is ~16 MB compressed; even a fully float model stays far below this when unpacked.
// The limit only stops a damaged or hostile header from exhausting memory.
constexpr uint64_t kMaxRawBytes = uint64_t{4} << 30;
// On-disk dtype codes, fixed independently of the DType enum's order.
constexpr std::array<DType, 8> kDTypeCodes = {DType::f32, DType::bf16, DType::f16, DType::i64,
                                              DType::i32, DType::u16,  DType::u8,  DType::boolean};
// The first four bytes of every zstd frame (0xFD2FB528, little-endian): a version-1 artifact.
constexpr std::string_view kZstdMagic = "\x28\xB5\x2F\xFD";

uint8_t dtype_code(DType t) {
    for (size_t i = 0; i < kDTypeCodes.size(); ++i)
        if (kDTypeCodes[i] == t) return static_cast<uint8_t>(i);
    PG_UNREACHABLE("dtype {} has no artifact code", dtype_name(t));
}

template <typename T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void put_bytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }

// Reads front to back; every read checks that the bytes are there.
class Reader {
public:
    Reader(std::string_view bytes, std::string_view source) : bytes_(bytes), source_(source) {}

    const char* take(uint64_t n, std::string_view what) {
        PG_CHECK(n <= bytes_.size() - pos_,
                 "{} is truncated or corrupt: {} needs {} bytes at offset {} but only {} remain; re-export the artifact",
                 source_, what, n, pos_, bytes_.size() - pos_);
        const char* p = bytes_.data() + pos_;
        pos_ += static_cast<size_t>(n);
        return p;
    }
    template <typename T>
    T get(std::string_view what) {
        T v;
        std::memcpy(&v, take(sizeof(T), what), sizeof(T));
        return v;
    }
    std::string_view rest() { return std::string_view(take(remaining(), "the rest"), bytes_.size() - pos_); }
    size_t remaining() const { return bytes_.size() - pos_; }
    std::string_view source() const { return source_; }

private:
    std::string_view bytes_;
    std::string_view source_;
    size_t pos_ = 0;
};

DType read_dtype(Reader& r, const std::string& name, const char* field) {
    const auto code = r.get<uint8_t>(field);
    PG_CHECK(code < kDTypeCodes.size(), "{} is corrupt: tensor '{}' has {} code {}, which is not a known dtype",
             r.source(), name, field, code);
    return kDTypeCodes[code];
}

Shape read_shape(Reader& r, const std::string& name) {
    const auto ndim = r.get<uint8_t>("a rank");
    PG_CHECK(ndim <= kMaxRank, "{} is corrupt: tensor '{}' has rank {} (limit {})", r.source(), name, ndim, kMaxRank);
    Shape shape;
    uint64_t count = 1;
    for (uint8_t i = 0; i < ndim; ++i) {
        const auto extent = r.get<int64_t>("a shape extent");
        PG_CHECK(extent >= 0 && (extent == 0 || count <= kMaxRawBytes / static_cast<uint64_t>(extent)),
                 "{} is corrupt: tensor '{}' has an invalid extent {}", r.source(), name, extent);
        count *= static_cast<uint64_t>(extent);
        shape.push_back(extent);
    }
    return shape;
}

void read_passthrough(Reader& r, const std::string& name, uint8_t stored_code, QuantizedTensor& t) {
    PG_CHECK(stored_code < kDTypeCodes.size(), "{} is corrupt: passthrough tensor '{}' has stored dtype code {}",
             r.source(), name, stored_code);
    t.stored = HostTensor(kDTypeCodes[stored_code], t.shape);
    std::memcpy(t.stored.bytes.data(), r.take(t.stored.bytes.size(), "a passthrough tensor"), t.stored.bytes.size());
    PG_CHECK(t.stored.dtype == t.out_dtype || (is_float(t.stored.dtype) && is_float(t.out_dtype)),
             "{} is corrupt: passthrough tensor '{}' is stored as {} but restores to {}", r.source(), name,
             dtype_name(t.stored.dtype), dtype_name(t.out_dtype));
}

HostTensor scale_tensor(Reader& r, const std::string& name, const QuantizedTensor& t) {
    switch (t.scheme) {
        case QuantScheme::per_tensor: return HostTensor(DType::f32, {});
        case QuantScheme::per_row:
            PG_CHECK(t.shape.size() == 2, "{} is corrupt: per-row tensor '{}' has shape {}, expected 2-D", r.source(),
                     name, shape_str(t.shape));
            return HostTensor(DType::f16, {t.shape[0]});
        default:
            PG_CHECK(t.shape.size() == 2 && t.group > 0 && t.shape[1] % t.group == 0,
                     "{} is corrupt: per-group tensor '{}' has shape {} and group {}", r.source(), name,
                     shape_str(t.shape), t.group);
            return HostTensor(DType::f16, {t.shape[0], t.shape[1] / t.group});
    }
}

void read_codes(Reader& r, const std::string& name, bool packed, QuantizedTensor& t) {
    t.scale = scale_tensor(r, name, t);
    std::memcpy(t.scale.bytes.data(), r.take(t.scale.bytes.size(), "the scales"), t.scale.bytes.size());
    const auto n = static_cast<int64_t>(t.numel());
    t.q.resize(static_cast<size_t>(n));
    const int64_t size = packed ? packed_size(n, t.bits) : n;
    const auto* p = reinterpret_cast<const uint8_t*>(r.take(static_cast<uint64_t>(size), "the codes"));
    bool ok = true;
    if (packed) {
        ok = unpack_codes(std::span<const uint8_t>(p, static_cast<size_t>(size)), t.bits, t.q);
    } else {
        std::memcpy(t.q.data(), p, t.q.size());
        for (int8_t v : t.q) ok = ok && v >= -t.range() && v <= t.range();
    }
    PG_CHECK(ok, "{} is corrupt: tensor '{}' holds a code outside [-{}, {}]", r.source(), name, t.range(), t.range());
}

QuantizedTensor read_record(Reader& r, const std::string& name, uint32_t version, bool packed) {
    QuantizedTensor t;
    const auto scheme = r.get<uint8_t>("a scheme");
    PG_CHECK(scheme <= (version == 1 ? 2 : 3), "{} is corrupt: tensor '{}' has unknown scheme {}", r.source(), name,
             scheme);
    t.scheme = static_cast<QuantScheme>(scheme);
    if (version >= 2) t.bits = r.get<uint8_t>("a code width");
    t.orig_dtype = read_dtype(r, name, "original dtype");
    t.out_dtype = read_dtype(r, name, "output dtype");
    const auto stored_code = r.get<uint8_t>("a stored dtype");
    t.shape = read_shape(r, name);
    if (t.scheme == QuantScheme::per_group) t.group = r.get<int64_t>("a group size");
    if (t.scheme == QuantScheme::passthrough) {
        read_passthrough(r, name, stored_code, t);
        return t;
    }
    PG_CHECK(stored_code == kNoDType && is_float(t.out_dtype) && is_float(t.orig_dtype),
             "{} is corrupt: quantized tensor '{}' has inconsistent dtypes", r.source(), name);
    PG_CHECK(t.bits >= 2 && t.bits <= 8 && (t.scheme != QuantScheme::per_tensor || t.bits == 8),
             "{} is corrupt: tensor '{}' has {}-bit codes, which this pgolf does not know", r.source(), name, t.bits);
    read_codes(r, name, packed, t);
    return t;
}

void put_record(std::string& out, const std::string& name, const QuantizedTensor& t, bool pack_bits) {
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out.append(name);
    const bool pass = t.scheme == QuantScheme::passthrough;
    put<uint8_t>(out, static_cast<uint8_t>(t.scheme));
    put<uint8_t>(out, pass ? 0 : static_cast<uint8_t>(t.bits));
    put<uint8_t>(out, dtype_code(t.orig_dtype));
    put<uint8_t>(out, dtype_code(t.out_dtype));
    put<uint8_t>(out, pass ? dtype_code(t.stored.dtype) : kNoDType);
    PG_ASSERT(t.shape.size() <= kMaxRank, "tensor '{}' has rank {}", name, t.shape.size());
    put<uint8_t>(out, static_cast<uint8_t>(t.shape.size()));
    for (int64_t d : t.shape) put<int64_t>(out, d);
    if (t.scheme == QuantScheme::per_group) put<int64_t>(out, t.group);
    if (pass) {
        PG_ASSERT(t.stored.shape == t.shape, "passthrough tensor '{}' shape mismatch", name);
        put_bytes(out, t.stored.bytes.data(), t.stored.bytes.size());
        return;
    }
    PG_ASSERT(t.q.size() == static_cast<size_t>(t.numel()), "tensor '{}' has {} codes", name, t.q.size());
    put_bytes(out, t.scale.bytes.data(), t.scale.bytes.size());
    if (pack_bits) pack_codes(t.q, t.bits, out);
    else put_bytes(out, t.q.data(), t.q.size());
}

Compressor read_compressor(Reader& r) {
    const auto kind = r.get<uint8_t>("the compressor");
    const auto level = r.get<uint8_t>("the compression level");
    const auto flag = r.get<uint8_t>("the compressor flag");
    PG_CHECK(kind >= 1 && kind <= 3,
             "{} names unknown compressor {}; this pgolf reads zstd (1), xz (2) and brotli (3): re-export it or use "
             "the pgolf that wrote it",
             r.source(), kind);
    PG_CHECK(flag <= 1, "{} is corrupt: compressor flag {}", r.source(), flag);
    return {static_cast<CompressorKind>(kind), level, flag == 1};
}

// A version-1 file: one zstd frame (with its content size) around a version-1 container.
QuantizedModel decode_v1(std::string_view file, std::string_view source, ArtifactInfo* info) {
    const unsigned long long declared = ZSTD_getFrameContentSize(file.data(), file.size());
    PG_CHECK(declared != ZSTD_CONTENTSIZE_ERROR && declared != ZSTD_CONTENTSIZE_UNKNOWN && declared <= kMaxRawBytes,
             "{} is not a valid artifact: its zstd frame header is damaged", source);
    const Compressor zstd{CompressorKind::zstd, 22, false};
    if (info != nullptr) *info = {file.size(), declared, zstd, QuantPlan{}.canonical(), false};
    return decode_quantized(decompress(file, zstd, declared, source), source);
}

}  // namespace

bool pack_bits_from_settings() { return env::get("QUANT_PACK") == "bits"; }

std::string artifact_file_name(const std::string& label, const Compressor& c) {
    const char* ext = c.kind == CompressorKind::zstd ? "zst" : c.kind == CompressorKind::xz ? "xz" : "br";
    return fmt::format("final_model.{}.{}", label, ext);
}

std::string encode_quantized(const QuantizedModel& model, bool pack_bits) {
    std::string out;
    out.append(kContainerMagic);
    put<uint32_t>(out, kContainerVersion);
    put<uint32_t>(out, static_cast<uint32_t>(model.tensors.size()));
    for (const auto& [name, t] : model.tensors) put_record(out, name, t, pack_bits);
    return out;
}

namespace {

QuantizedModel decode_container(std::string_view bytes, std::string_view source, bool packed) {
    Reader r(bytes, source);
    PG_CHECK(bytes.substr(0, kContainerMagic.size()) == kContainerMagic,
             "{} is not a pgolf artifact (bad container magic); give a file written by `pgolf train` or `pgolf export`",
             source);
    r.take(kContainerMagic.size(), "the magic");
    const auto version = r.get<uint32_t>("the version");
    PG_CHECK(version == 1 || version == kContainerVersion,
             "{} holds container version {}, but this pgolf reads versions 1 and {}", source, version,
             kContainerVersion);
    const auto count = r.get<uint32_t>("the tensor count");
    QuantizedModel model;
    for (uint32_t i = 0; i < count; ++i) {
        const auto len = r.get<uint32_t>("a name length");
        std::string name(r.take(len, "a tensor name"), len);
        PG_CHECK(!model.tensors.contains(name), "{} is corrupt: tensor '{}' appears twice", source, name);
        QuantizedTensor t = read_record(r, name, version, packed);
        model.tensors.emplace(std::move(name), std::move(t));
    }
    PG_CHECK(r.remaining() == 0, "{} is corrupt: {} unexpected bytes follow the last of its {} tensors", source,
             r.remaining(), count);
    return model;
}

}  // namespace

QuantizedModel decode_quantized(std::string_view bytes, std::string_view source) {
    return decode_container(bytes, source, false);
}

std::string encode_artifact(const QuantizedModel& model, const ArtifactOptions& o) {
    PG_ASSERT(o.scheme.size() <= kMaxSchemeBytes, "scheme of {} bytes", o.scheme.size());
    const std::string raw = encode_quantized(model, o.pack_bits);
    std::string out(kArtifactMagic);
    put<uint32_t>(out, kFileVersion);
    put<uint8_t>(out, static_cast<uint8_t>(o.compressor.kind));
    put<uint8_t>(out, static_cast<uint8_t>(o.compressor.level));
    put<uint8_t>(out, o.compressor.extra ? 1 : 0);
    put<uint8_t>(out, o.pack_bits ? 1 : 0);
    put<uint32_t>(out, static_cast<uint32_t>(o.scheme.size()));
    out.append(o.scheme);
    put<uint64_t>(out, raw.size());
    put<uint64_t>(out, checksum64(raw));
    out += compress(raw, o.compressor);
    return out;
}

QuantizedModel decode_artifact(std::string_view file, std::string_view source, ArtifactInfo* info) {
    PG_CHECK(!file.empty(), "{} is empty; the export did not finish, re-export the artifact", source);
    if (file.substr(0, 4) == kZstdMagic) return decode_v1(file, source, info);
    PG_CHECK(file.substr(0, kArtifactMagic.size()) == kArtifactMagic,
             "{} is not a pgolf artifact (bad magic); give a file written by `pgolf train` or `pgolf export`", source);
    Reader r(file, source);
    r.take(kArtifactMagic.size(), "the magic");
    const auto version = r.get<uint32_t>("the version");
    PG_CHECK(version == kFileVersion, "{} is artifact version {}, but this pgolf reads versions 1 and {}", source,
             version, kFileVersion);
    const Compressor c = read_compressor(r);
    const auto packing = r.get<uint8_t>("the packing");
    PG_CHECK(packing <= 1, "{} is corrupt: unknown code packing {}", source, packing);
    const auto scheme_len = r.get<uint32_t>("the scheme length");
    PG_CHECK(scheme_len <= kMaxSchemeBytes, "{} is corrupt: a scheme of {} bytes", source, scheme_len);
    const std::string scheme(r.take(scheme_len, "the scheme"), scheme_len);
    parse_quant_plan(scheme, fmt::format("the scheme recorded in {}", source));
    const auto raw_size = r.get<uint64_t>("the container size");
    const auto digest = r.get<uint64_t>("the checksum");
    PG_CHECK(raw_size <= kMaxRawBytes, "{} is corrupt: it claims to unpack to {} bytes", source, raw_size);
    const std::string_view packed = r.rest();
    const std::string raw = decompress(packed, c, raw_size, source);
    PG_CHECK(checksum64(raw) == digest, "{} is corrupt: the unpacked container does not match its checksum; "
                                        "re-export the artifact",
             source);
    if (info != nullptr) *info = {file.size(), raw_size, c, scheme, packing == 1};
    return decode_container(raw, source, packing == 1);
}

ArtifactInfo save_artifact(const fs::path& path, const QuantizedModel& model, const std::string& scheme,
                           const std::vector<Compressor>& choices, bool pack_bits) {
    PG_ASSERT(!choices.empty(), "no compressor to try");
    std::string best;
    std::vector<std::pair<Compressor, uint64_t>> tried;
    for (const Compressor& c : choices) {
        std::string file = encode_artifact(model, {scheme, c, pack_bits});
        tried.emplace_back(c, file.size());
        if (best.empty() || file.size() < best.size()) best = std::move(file);
    }
    ArtifactInfo info;
    decode_artifact(best, path.string(), &info);  // what is written must read back
    write_file_atomically(path, best);
    info.tried = std::move(tried);
    return info;
}

ArtifactInfo save_artifact(const fs::path& path, const QuantizedModel& model) {
    return save_artifact(path, model, QuantPlan{}.canonical(), {Compressor{}}, false);
}

QuantizedModel load_artifact(const fs::path& path, ArtifactInfo* info) {
    return decode_artifact(read_file_bytes(path), path.string(), info);
}

TensorMap load_artifact_weights(const fs::path& path) { return dequantize(load_artifact(path)); }

}  // namespace pg::io
