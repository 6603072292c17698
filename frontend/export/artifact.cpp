// Artifact container encoding/decoding (with bounds checks on every field) and its zstd level-22
// compression; see artifact.h for the byte layout.
#include "frontend/export/artifact.h"

#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::io {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "the artifact is little-endian, written from host order");

namespace {

constexpr std::string_view kMagic = "PGQ8";
constexpr uint32_t kVersion = 1;
constexpr uint8_t kNoDType = 0xFF;
constexpr size_t kMaxRank = 16;
// An artifact is ~16 MB compressed; even a fully float model stays far below this when unpacked.
// The limit only stops a damaged or hostile frame from exhausting memory.
constexpr uint64_t kMaxRawBytes = uint64_t{4} << 30;
// On-disk dtype codes, fixed independently of the DType enum's order.
constexpr std::array<DType, 8> kDTypeCodes = {DType::f32, DType::bf16, DType::f16, DType::i64,
                                              DType::i32, DType::u16,  DType::u8,  DType::boolean};

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

// Reads the container front to back; every read checks that the bytes are there.
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
    size_t remaining() const { return bytes_.size() - pos_; }
    size_t pos() const { return pos_; }
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

QuantizedTensor read_record(Reader& r, const std::string& name) {
    QuantizedTensor t;
    const auto scheme = r.get<uint8_t>("a scheme");
    PG_CHECK(scheme <= 2, "{} is corrupt: tensor '{}' has unknown scheme {}", r.source(), name, scheme);
    t.scheme = static_cast<QuantScheme>(scheme);
    t.orig_dtype = read_dtype(r, name, "original dtype");
    t.out_dtype = read_dtype(r, name, "output dtype");
    const auto stored_code = r.get<uint8_t>("a stored dtype");
    t.shape = read_shape(r, name);
    const auto n = static_cast<uint64_t>(t.numel());
    const std::string what = fmt::format("the data of tensor '{}'", name);
    if (t.scheme == QuantScheme::passthrough) {
        PG_CHECK(stored_code < kDTypeCodes.size(), "{} is corrupt: passthrough tensor '{}' has stored dtype code {}",
                 r.source(), name, stored_code);
        t.stored = HostTensor(kDTypeCodes[stored_code], t.shape);
        std::memcpy(t.stored.bytes.data(), r.take(t.stored.bytes.size(), what), t.stored.bytes.size());
        PG_CHECK(t.stored.dtype == t.out_dtype || (is_float(t.stored.dtype) && is_float(t.out_dtype)),
                 "{} is corrupt: passthrough tensor '{}' is stored as {} but restores to {}", r.source(), name,
                 dtype_name(t.stored.dtype), dtype_name(t.out_dtype));
        return t;
    }
    PG_CHECK(stored_code == kNoDType && is_float(t.out_dtype) && is_float(t.orig_dtype),
             "{} is corrupt: int8 tensor '{}' has inconsistent dtypes", r.source(), name);
    if (t.scheme == QuantScheme::int8_per_row) {
        PG_CHECK(t.shape.size() == 2, "{} is corrupt: per-row tensor '{}' has shape {}, expected 2-D", r.source(),
                 name, shape_str(t.shape));
        t.scale = HostTensor(DType::f16, {t.shape[0]});
    } else {
        t.scale = HostTensor(DType::f32, {});
    }
    std::memcpy(t.scale.bytes.data(), r.take(t.scale.bytes.size(), what), t.scale.bytes.size());
    t.q.resize(n);
    std::memcpy(t.q.data(), r.take(n, what), n);
    for (int8_t v : t.q)
        PG_CHECK(v >= -127, "{} is corrupt: int8 tensor '{}' holds -128, outside the quantized range", r.source(),
                 name);
    return t;
}

std::string read_whole_file(const fs::path& path) {
    std::error_code ec;
    PG_CHECK(fs::exists(path, ec), "cannot read {}: no such file; check the path", path.string());
    PG_CHECK(fs::is_regular_file(path, ec), "cannot read {}: not a regular file", path.string());
    std::ifstream in(path, std::ios::binary);
    PG_CHECK(in.good(), "cannot read {}: opening it failed; check permissions", path.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    PG_CHECK(!in.bad(), "cannot read {}: I/O error", path.string());
    return bytes;
}

}  // namespace

std::string encode_quantized(const QuantizedModel& model) {
    std::string out;
    out.append(kMagic);
    put<uint32_t>(out, kVersion);
    put<uint32_t>(out, static_cast<uint32_t>(model.tensors.size()));
    for (const auto& [name, t] : model.tensors) {
        put<uint32_t>(out, static_cast<uint32_t>(name.size()));
        out.append(name);
        put<uint8_t>(out, static_cast<uint8_t>(t.scheme));
        put<uint8_t>(out, dtype_code(t.orig_dtype));
        put<uint8_t>(out, dtype_code(t.out_dtype));
        put<uint8_t>(out, t.scheme == QuantScheme::passthrough ? dtype_code(t.stored.dtype) : kNoDType);
        PG_ASSERT(t.shape.size() <= kMaxRank, "tensor '{}' has rank {}", name, t.shape.size());
        put<uint8_t>(out, static_cast<uint8_t>(t.shape.size()));
        for (int64_t d : t.shape) put<int64_t>(out, d);
        if (t.scheme == QuantScheme::passthrough) {
            PG_ASSERT(t.stored.shape == t.shape, "passthrough tensor '{}' shape mismatch", name);
            put_bytes(out, t.stored.bytes.data(), t.stored.bytes.size());
        } else {
            PG_ASSERT(t.q.size() == static_cast<size_t>(t.numel()), "tensor '{}' has {} q values", name, t.q.size());
            put_bytes(out, t.scale.bytes.data(), t.scale.bytes.size());
            put_bytes(out, t.q.data(), t.q.size());
        }
    }
    return out;
}

QuantizedModel decode_quantized(std::string_view bytes, std::string_view source) {
    Reader r(bytes, source);
    PG_CHECK(bytes.size() >= kMagic.size() && bytes.substr(0, kMagic.size()) == kMagic,
             "{} is not a pgolf int8 artifact (bad magic); give a file written by `pgolf train` or `pgolf export`",
             source);
    r.take(kMagic.size(), "the magic");
    const auto version = r.get<uint32_t>("the version");
    PG_CHECK(version == kVersion, "{} is artifact version {}, but this pgolf reads version {}", source, version,
             kVersion);
    const auto count = r.get<uint32_t>("the tensor count");
    QuantizedModel model;
    for (uint32_t i = 0; i < count; ++i) {
        const auto len = r.get<uint32_t>("a name length");
        std::string name(r.take(len, "a tensor name"), len);
        PG_CHECK(!model.tensors.contains(name), "{} is corrupt: tensor '{}' appears twice", source, name);
        QuantizedTensor t = read_record(r, name);
        model.tensors.emplace(std::move(name), std::move(t));
    }
    PG_CHECK(r.remaining() == 0, "{} is corrupt: {} unexpected bytes follow the last of its {} tensors", source,
             r.remaining(), count);
    return model;
}

std::string compress_artifact(std::string_view raw) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    PG_ASSERT(cctx != nullptr, "ZSTD_createCCtx failed");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, kArtifactZstdLevel);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
    ZSTD_freeCCtx(cctx);
    PG_CHECK(!ZSTD_isError(n), "zstd compression of the artifact failed: {} (out of memory? level {} needs about "
                               "1 GB for large inputs)",
             ZSTD_getErrorName(n), kArtifactZstdLevel);
    out.resize(n);
    return out;
}

std::string decompress_artifact(std::string_view compressed, std::string_view source) {
    const size_t frame = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
    PG_CHECK(!ZSTD_isError(frame), "{} is not a valid artifact: it is not a complete zstd frame ({}); the file is "
                                   "truncated or not an artifact",
             source, ZSTD_getErrorName(frame));
    PG_CHECK(frame == compressed.size(), "{} is not a valid artifact: {} unexpected bytes follow its zstd frame",
             source, compressed.size() - frame);
    const unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    PG_CHECK(declared != ZSTD_CONTENTSIZE_ERROR && (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared <= kMaxRawBytes),
             "{} is not a valid artifact: its zstd frame declares an impossible size", source);
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    PG_ASSERT(dctx != nullptr, "ZSTD_createDCtx failed");
    std::string out;
    // The declared size is only a hint (a damaged header could claim gigabytes): reserve at most
    // 256 MiB up front, far above any real artifact, and let the buffer grow past that.
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN) out.reserve(std::min<uint64_t>(declared, uint64_t{256} << 20));
    std::string chunk(ZSTD_DStreamOutSize(), '\0');
    ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
    size_t ret = 1;
    while (ret != 0) {
        ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
        ret = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(ret)) {
            const std::string err = ZSTD_getErrorName(ret);
            ZSTD_freeDCtx(dctx);
            throw Error(fmt::format("{} is corrupt: zstd decompression failed ({}); re-export the artifact", source, err));
        }
        out.append(chunk.data(), ob.pos);
        if (out.size() > kMaxRawBytes || (ob.pos == 0 && in.pos == in.size && ret != 0)) {
            ZSTD_freeDCtx(dctx);
            PG_CHECK(out.size() <= kMaxRawBytes, "{} is not a valid artifact: it unpacks to more than {} bytes", source,
                     kMaxRawBytes);
            throw Error(fmt::format("{} is truncated: its zstd frame ends early; re-export the artifact", source));
        }
    }
    ZSTD_freeDCtx(dctx);
    PG_CHECK(declared == ZSTD_CONTENTSIZE_UNKNOWN || out.size() == declared,
             "{} is corrupt: it unpacked to {} bytes but its zstd frame declares {}", source, out.size(), declared);
    return out;
}

ArtifactInfo save_artifact(const fs::path& path, const QuantizedModel& model) {
    const std::string raw = encode_quantized(model);
    const std::string packed = compress_artifact(raw);
    write_file_atomically(path, packed);
    return {packed.size(), raw.size()};
}

QuantizedModel load_artifact(const fs::path& path) {
    const std::string packed = read_whole_file(path);
    const std::string source = path.string();
    PG_CHECK(!packed.empty(), "{} is empty; the export did not finish, re-export the artifact", source);
    return decode_quantized(decompress_artifact(packed, source), source);
}

TensorMap load_artifact_weights(const fs::path& path) { return dequantize(load_artifact(path)); }

}  // namespace pg::io
