// zstd, xz and Brotli one-shot compression with checked decompression (see compressor.h).
#include "frontend/export/compressor.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lzma.h>
#include <zstd.h>

#include <charconv>

#include "base/env.h"
#include "base/error.h"

namespace pg::io {

namespace {

PG_KNOB({.name = "COMPRESSOR", .kind = env::KnobKind::String, .default_value = "zstd-22",
         .doc = "artifact compressor: zstd-LEVEL[-long], xz-PRESET[e], brotli-QUALITY, or auto (the smallest of "
                "zstd-22, zstd-22-long, xz-9e, brotli-11)"});

// zstd's long mode window: 2^27 bytes covers a whole 16 MB artifact (the default window at level
// 22 is 2^27 too, so this mainly turns on the long-distance match finder).
constexpr int kZstdLongWindowLog = 27;
// xz decoding memory limit: preset 9 needs ~65 MiB; 1 GiB only stops a hostile header.
constexpr uint64_t kXzMemLimit = uint64_t{1} << 30;

int parse_level(std::string_view s, int lo, int hi, std::string_view text, std::string_view setting) {
    int v = -1;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    PG_CHECK(ec == std::errc() && ptr == s.data() + s.size() && v >= lo && v <= hi,
             "{}: bad compressor '{}': level '{}' is not a number in {}..{} (use e.g. zstd-22, zstd-22-long, xz-9e, "
             "brotli-11 or auto)",
             setting, text, s, lo, hi);
    return v;
}

std::string zstd_compress(std::string_view raw, const Compressor& c) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    PG_ASSERT(cctx != nullptr, "ZSTD_createCCtx failed");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, c.level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (c.extra) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, kZstdLongWindowLog);
    }
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
    ZSTD_freeCCtx(cctx);
    PG_CHECK(!ZSTD_isError(n), "zstd compression of the artifact failed: {} (out of memory?)", ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

std::string zstd_decompress(std::string_view data, uint64_t raw_size, std::string_view source) {
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    PG_ASSERT(dctx != nullptr, "ZSTD_createDCtx failed");
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, kZstdLongWindowLog);
    std::string out(raw_size, '\0');
    const size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), data.data(), data.size());
    ZSTD_freeDCtx(dctx);
    PG_CHECK(!ZSTD_isError(n), "{} is corrupt or truncated: zstd decompression failed ({}); re-export the artifact",
             source, ZSTD_getErrorName(n));
    PG_CHECK(n == raw_size, "{} is corrupt: it unpacked to {} bytes but its header says {}", source, n, raw_size);
    return out;
}

std::string xz_compress(std::string_view raw, const Compressor& c) {
    const uint32_t preset = static_cast<uint32_t>(c.level) | (c.extra ? LZMA_PRESET_EXTREME : 0);
    std::string out(lzma_stream_buffer_bound(raw.size()), '\0');
    size_t pos = 0;
    const lzma_ret r = lzma_easy_buffer_encode(preset, LZMA_CHECK_CRC64, nullptr,
                                               reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                                               reinterpret_cast<uint8_t*>(out.data()), &pos, out.size());
    PG_CHECK(r == LZMA_OK, "xz compression of the artifact failed (lzma error {}; out of memory?)", static_cast<int>(r));
    out.resize(pos);
    return out;
}

std::string xz_decompress(std::string_view data, uint64_t raw_size, std::string_view source) {
    std::string out(raw_size, '\0');
    uint64_t memlimit = kXzMemLimit;
    size_t in_pos = 0, out_pos = 0;
    const lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, nullptr, reinterpret_cast<const uint8_t*>(data.data()),
                                                 &in_pos, data.size(), reinterpret_cast<uint8_t*>(out.data()),
                                                 &out_pos, out.size());
    PG_CHECK(r == LZMA_OK, "{} is corrupt or truncated: xz decompression failed (lzma error {}); re-export the artifact",
             source, static_cast<int>(r));
    PG_CHECK(in_pos == data.size() && out_pos == raw_size,
             "{} is corrupt: xz data of {} bytes unpacked to {} bytes using {}, the header says {}", source,
             data.size(), out_pos, in_pos, raw_size);
    return out;
}

std::string brotli_compress(std::string_view raw, const Compressor& c) {
    std::string out(BrotliEncoderMaxCompressedSize(raw.size()), '\0');
    size_t n = out.size();
    const BROTLI_BOOL ok = BrotliEncoderCompress(c.level, BROTLI_MAX_WINDOW_BITS, BROTLI_MODE_GENERIC, raw.size(),
                                                 reinterpret_cast<const uint8_t*>(raw.data()), &n,
                                                 reinterpret_cast<uint8_t*>(out.data()));
    PG_CHECK(ok == BROTLI_TRUE, "brotli compression of the artifact failed (out of memory?)");
    out.resize(n);
    return out;
}

// The streaming decoder, because the one-shot one accepts stray bytes after the stream.
std::string brotli_decompress(std::string_view data, uint64_t raw_size, std::string_view source) {
    std::string out(raw_size, '\0');
    BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    PG_ASSERT(st != nullptr, "BrotliDecoderCreateInstance failed");
    size_t avail_in = data.size(), avail_out = out.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(data.data());
    auto* next_out = reinterpret_cast<uint8_t*>(out.data());
    const BrotliDecoderResult r =
        BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    BrotliDecoderDestroyInstance(st);
    PG_CHECK(r == BROTLI_DECODER_RESULT_SUCCESS,
             "{} is corrupt or truncated: brotli decompression failed; re-export the artifact", source);
    PG_CHECK(avail_in == 0 && avail_out == 0,
             "{} is corrupt: brotli data of {} bytes left {} bytes unread and unpacked to {} bytes, the header says {}",
             source, data.size(), avail_in, raw_size - avail_out, raw_size);
    return out;
}

}  // namespace

std::string Compressor::family() const {
    switch (kind) {
        case CompressorKind::zstd: return "zstd";
        case CompressorKind::xz: return "xz";
        case CompressorKind::brotli: return "brotli";
    }
    PG_UNREACHABLE("compressor kind {}", static_cast<int>(kind));
}

std::string Compressor::name() const {
    if (kind == CompressorKind::xz) return fmt::format("xz-{}{}", level, extra ? "e" : "");
    return fmt::format("{}-{}{}", family(), level, extra ? "-long" : "");
}

Compressor parse_compressor(std::string_view text, std::string_view setting) {
    const size_t dash = text.find('-');
    const std::string_view fam = text.substr(0, dash);
    std::string_view rest = dash == std::string_view::npos ? std::string_view{} : text.substr(dash + 1);
    Compressor c;
    if (fam == "zstd") {
        c.extra = rest.ends_with("-long") || rest == "long";
        if (c.extra) rest = rest == "long" ? std::string_view{} : rest.substr(0, rest.size() - 5);
        c.level = rest.empty() ? 22 : parse_level(rest, 1, 22, text, setting);
    } else if (fam == "xz" || fam == "lzma") {
        c.kind = CompressorKind::xz;
        c.extra = rest.ends_with("e");
        if (c.extra) rest.remove_suffix(1);
        c.level = rest.empty() ? 9 : parse_level(rest, 0, 9, text, setting);
    } else if (fam == "brotli") {
        c.kind = CompressorKind::brotli;
        c.level = rest.empty() ? 11 : parse_level(rest, 0, 11, text, setting);
    } else {
        throw Error(fmt::format("{}: unknown compressor '{}' (use zstd-LEVEL[-long], xz-PRESET[e], brotli-QUALITY or "
                                "auto)",
                                setting, text));
    }
    return c;
}

std::vector<Compressor> compressor_choices(std::string_view text, std::string_view setting) {
    if (text != "auto") return {parse_compressor(text, setting)};
    return {{CompressorKind::zstd, 22, false}, {CompressorKind::zstd, 22, true}, {CompressorKind::xz, 9, true},
            {CompressorKind::brotli, 11, false}};
}

std::vector<Compressor> compressor_choices_from_settings() { return compressor_choices(env::get("COMPRESSOR")); }

std::string compress(std::string_view raw, const Compressor& c) {
    switch (c.kind) {
        case CompressorKind::zstd: return zstd_compress(raw, c);
        case CompressorKind::xz: return xz_compress(raw, c);
        case CompressorKind::brotli: return brotli_compress(raw, c);
    }
    PG_UNREACHABLE("compressor kind {}", static_cast<int>(c.kind));
}

std::string decompress(std::string_view data, const Compressor& c, uint64_t raw_size, std::string_view source) {
    switch (c.kind) {
        case CompressorKind::zstd: return zstd_decompress(data, raw_size, source);
        case CompressorKind::xz: return xz_decompress(data, raw_size, source);
        case CompressorKind::brotli: return brotli_decompress(data, raw_size, source);
    }
    PG_UNREACHABLE("compressor kind {}", static_cast<int>(c.kind));
}

}  // namespace pg::io
