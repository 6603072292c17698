// Artifact: quantize -> container -> each compressor (byte or bit-packed codes) -> load ->
// dequantize gives back exactly what the in-memory dequantization gives, and the header names the
// scheme and compressor; version-1 files (a bare zstd frame) still load; every kind of damage
// (truncation, flipped bytes, bad magic, unknown version, compressor or scheme, size mismatches,
// stray bytes) is a pg::Error naming the file; model files are recognised by content.
#include <doctest/doctest.h>

#include "base/digest.h"
#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "tests/export/export_test_util.h"
#include "tests/support/skip.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// A scaled-down baseline state dict (dim 64, 2 layers, vocab 1200) so every scheme occurs.
TensorMap small_gpt_state(uint32_t seed) {
    std::mt19937 rng(seed);
    const int64_t d = 64, vocab = 1200;
    TensorMap m;
    m["tok_emb.weight"] = random_tensor(DType::bf16, {vocab, d}, rng, 0.005);  // 76,800: quantized
    for (int layer = 0; layer < 2; ++layer) {
        const std::string p = "blocks." + std::to_string(layer) + ".";
        m[p + "attn.c_q.weight"] = random_tensor(DType::f32, {d, d}, rng, 0.1);
        m[p + "attn.c_k.weight"] = random_tensor(DType::f32, {d / 2, d}, rng, 0.1);
        m[p + "attn.c_v.weight"] = random_tensor(DType::f32, {d / 2, d}, rng, 0.1);
        m[p + "attn.proj.weight"] = random_tensor(DType::f32, {d, d}, rng, 0.1);
        m[p + "attn.q_gain"] = random_tensor(DType::f32, {4}, rng);
        m[p + "mlp.fc.weight"] = random_tensor(DType::f32, {1100, d}, rng, 0.1);  // 70,400: quantized
        m[p + "mlp.proj.weight"] = random_tensor(DType::f32, {d, 2 * d}, rng, 0.1);
        m[p + "attn_scale"] = random_tensor(DType::f32, {d}, rng);
        m[p + "mlp_scale"] = random_tensor(DType::f32, {d}, rng);
        m[p + "resid_mix"] = random_tensor(DType::f32, {2, d}, rng);
    }
    m["skip_weights"] = random_tensor(DType::f32, {1, d}, rng);
    m["extra.vector"] = random_tensor(DType::f32, {70'000}, rng);  // int8 per tensor
    m["extra.counts"] = random_tensor(DType::i64, {3}, rng);
    m["extra.empty"] = HostTensor(DType::f32, {0, 5});
    return m;
}

void expect_same_maps(const TensorMap& a, const TensorMap& b) {
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        INFO(name);
        REQUIRE(b.contains(name));
        CHECK(same_tensor(t, b.at(name)));
    }
}

template <typename T>
std::string le(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

// A version-2 file around any container bytes, with a correct checksum (to reach the container
// checks), as artifact.h lays it out.
std::string wrap(const std::string& raw, const Compressor& c = {}, const std::string& scheme = QuantPlan{}.canonical(),
                 uint8_t packing = 0) {
    return std::string(kArtifactMagic) + le<uint32_t>(2) + le<uint8_t>(static_cast<uint8_t>(c.kind)) +
           le<uint8_t>(static_cast<uint8_t>(c.level)) + le<uint8_t>(c.extra) + le<uint8_t>(packing) +
           le<uint32_t>(static_cast<uint32_t>(scheme.size())) + scheme + le<uint64_t>(raw.size()) +
           le<uint64_t>(checksum64(raw)) + compress(raw, c);
}

const QuantPlan kMixed = parse_quant_plan("attn:int6@search,mlp_up:int5/g64@sd12.85,mlp_down:int4,emb:ternary");

}  // namespace

TEST_CASE("export: artifact round trip equals the in-memory dequantization for every compressor") {
    TempDir dir;
    const TensorMap state = small_gpt_state(1);
    // Every compressor on the mixed plan; zstd on the others (the container does not depend on
    // the compressor, and brotli-11 / xz-9e cost seconds each on a loaded 2-core machine).
    std::vector<std::pair<Compressor, uint64_t>> mixed_sizes;
    for (const QuantPlan& plan : {kMixed, QuantPlan{}, parse_quant_plan("all:int3,emb:fp16,ctrl:fp16")}) {
        const QuantizedModel model = quantize_model(state, plan);
        const bool all = plan.canonical() == kMixed.canonical();
        for (const Compressor& c : all ? compressor_choices("auto") : std::vector<Compressor>{Compressor{}}) {
            for (bool bits : {false, true}) {
                INFO(plan.canonical() << " " << c.name() << " bits " << bits);
                const auto path = dir / "a.art";
                const ArtifactInfo info = save_artifact(path, model, plan.canonical(), {c}, bits);
                CHECK(info.compressed_bytes == std::filesystem::file_size(path));
                CHECK(info.raw_bytes == encode_quantized(model, bits).size());
                CHECK(info.compressed_bytes < info.raw_bytes);
                CHECK(info.compressor == c);
                CHECK(info.scheme == plan.canonical());
                if (all && !bits) mixed_sizes.emplace_back(c, info.compressed_bytes);
                ArtifactInfo read;
                const QuantizedModel back = load_artifact(path, &read);
                CHECK(read.compressor == c);
                CHECK(read.pack_bits == bits);
                CHECK(encode_quantized(back) == encode_quantized(model));
                expect_same_maps(load_artifact_weights(path), dequantize(model));
            }
        }
    }
    CHECK(dir.entries() == std::vector<std::string>{"a.art"});  // the temporary files are gone
    // Bit packing shrinks the container by the unused bits of every code.
    const QuantizedModel mixed = quantize_model(state, kMixed);
    CHECK(encode_quantized(mixed, true).size() < encode_quantized(mixed, false).size() * 3 / 4);
    // auto tries each compressor (the same sizes as alone) and keeps the smallest.
    const ArtifactInfo best = save_artifact(dir / "b.art", mixed, kMixed.canonical(), compressor_choices("auto"), false);
    CHECK(best.tried == mixed_sizes);
    for (const auto& [c, bytes] : best.tried) CHECK(best.compressed_bytes <= bytes);
    // An empty model is a valid (tiny) artifact.
    save_artifact(dir / "empty.art", QuantizedModel{});
    CHECK(load_artifact(dir / "empty.art").tensors.empty());
}

TEST_CASE("export: version-1 artifacts (a bare zstd frame) still load") {
    TempDir dir;
    // One 2x3 int8 per-row tensor, laid out as version 1 wrote it.
    const uint16_t half = 0x3800;  // fp16 0.5
    const std::string raw = std::string("PGQ8") + le<uint32_t>(1) + le<uint32_t>(1) + le<uint32_t>(1) + "w" +
                            le<uint8_t>(1) + le<uint8_t>(0) + le<uint8_t>(0) + le<uint8_t>(0xFF) + le<uint8_t>(2) +
                            le<int64_t>(2) + le<int64_t>(3) + le<uint16_t>(half) + le<uint16_t>(half) +
                            std::string("\x01\x02\x03\xFF\xFE\x81", 6);
    write_raw(dir / "v1.zst", compress(raw, Compressor{}));
    CHECK(detect_model_file(dir / "v1.zst") == ModelFileKind::artifact);
    const TensorMap w = load_artifact_weights(dir / "v1.zst");
    CHECK(w.at("w").to_doubles() == std::vector<double>{0.5, 1.0, 1.5, -0.5, -1.0, -63.5});
}

TEST_CASE("export: damaged artifacts give a pg::Error naming the file") {
    TempDir dir;
    const QuantizedModel model = quantize_model(small_gpt_state(3), kMixed);
    const std::string raw = encode_quantized(model);
    const auto path = dir / "bad.art";
    auto message = [&](const std::string& bytes) {
        write_raw(path, bytes);
        const std::string msg = error_of([&] { load_artifact(path); });
        CHECK_MESSAGE(msg.find(path.string()) != std::string::npos, msg);
        return msg;
    };
    CHECK(message("").find("is empty") != std::string::npos);
    CHECK(message("this is plain text, not an artifact").find("bad magic") != std::string::npos);
    for (const Compressor& c : compressor_choices("auto")) {
        INFO(c.name());
        const std::string good = encode_artifact(model, {kMixed.canonical(), c, false});
        CHECK(message(good.substr(0, 20)).find("truncated") != std::string::npos);
        CHECK(!message(good.substr(0, good.size() / 2)).empty());
        CHECK(!message(good.substr(0, good.size() - 1)).empty());
        CHECK(!message(good + "x").empty());
        // Flipped bytes inside the compressed data: the decoder or the checksum catches them.
        for (size_t at : {good.size() / 3, good.size() / 2, good.size() - 6}) {
            std::string flipped = good;
            flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
            CHECK(!message(flipped).empty());
        }
    }
    const std::string good = encode_artifact(model, {kMixed.canonical(), Compressor{}, false});
    std::string v9 = good;
    v9[8] = 9;
    CHECK(message(v9).find("artifact version 9, but this pgolf reads versions 1 and 2") != std::string::npos);
    std::string unknown_compressor = good;
    unknown_compressor[12] = 7;
    CHECK(message(unknown_compressor).find("names unknown compressor 7") != std::string::npos);
    CHECK(message(wrap(raw, {}, "attn:int9")).find("unknown format 'int9'") != std::string::npos);
    CHECK(message(wrap(raw, {}, "foo:int8")).find("unknown tensor class 'foo'") != std::string::npos);
    std::string bad_sum = good;
    bad_sum[good.find(kMixed.canonical()) + kMixed.canonical().size() + 8] ^= 1;
    CHECK(message(bad_sum).find("does not match its checksum") != std::string::npos);

    // Valid compression with a damaged container inside.
    CHECK(message(wrap("PGQX" + raw.substr(4))).find("bad container magic") != std::string::npos);
    CHECK(message(wrap("PGQ8" + le<uint32_t>(7) + raw.substr(8))).find("container version 7") != std::string::npos);
    CHECK(message(wrap(raw.substr(0, raw.size() - 10))).find("truncated or corrupt") != std::string::npos);
    CHECK(message(wrap(raw + "zz")).find("2 unexpected bytes follow the last") != std::string::npos);
    CHECK(message(wrap(raw.substr(0, 8) + le<uint32_t>(1000) + raw.substr(12))).find("truncated or corrupt") !=
          std::string::npos);
    // A one-tensor int6 container: name length, name, scheme, bits, dtype bytes, rank, extents,
    // 300 fp16 scales, codes.
    std::mt19937 rng(6);
    QuantizedModel one;
    one.tensors.emplace("blocks.0.attn.c_q.weight", quantize_tensor("blocks.0.attn.c_q.weight",
                                                                    random_tensor(DType::f32, {300, 256}, rng), kMixed));
    REQUIRE(one.tensors.begin()->second.format_name() == "int6_per_row");
    const std::string raw1 = encode_quantized(one);
    const size_t rec = 12 + 4 + one.tensors.begin()->first.size();
    auto damaged = [&](size_t at, char value) {
        std::string bytes = raw1;
        bytes[at] = value;
        return message(wrap(bytes));
    };
    CHECK(damaged(rec, 9).find("unknown scheme 9") != std::string::npos);
    CHECK(damaged(rec + 1, 12).find("12-bit codes") != std::string::npos);
    CHECK(damaged(rec + 2, 42).find("original dtype code 42") != std::string::npos);
    CHECK(damaged(rec + 6 + 7, '\x80').find("invalid extent") != std::string::npos);  // negative
    CHECK(damaged(rec + 6 + 16 + 300 * 2, 40).find("holds a code outside [-31, 31]") != std::string::npos);
    CHECK(error_of([&] { load_artifact(dir / "missing.art"); }).find("no such file") != std::string::npos);
}

TEST_CASE("export: a failed artifact write leaves nothing behind") {
    TempDir dir;
    const QuantizedModel model = quantize_int8(small_gpt_state(5));
    const std::string msg = error_of([&] { save_artifact(dir / "no_such_dir" / "a.art", model); });
    CHECK(msg.find("no_such_dir") != std::string::npos);
    CHECK(dir.entries().empty());
}

TEST_CASE("export: model files are recognised by content") {
    TempDir dir;
    const TensorMap state = small_gpt_state(4);
    Checkpoint c;
    c.tensors = state;
    c.tensors["tok_emb.weight.exp_avg"] = state.at("tok_emb.weight");
    c.set_int(kStepKey, 5);
    save_checkpoint(dir / "run.ckpt", c);
    write_safetensors(dir / "weights.safetensors", state);
    save_artifact(dir / "model.bin", quantize_int8(state));  // any file name works
    write_raw(dir / "junk", "hello, world");

    CHECK(detect_model_file(dir / "run.ckpt") == ModelFileKind::checkpoint);
    CHECK(detect_model_file(dir / "weights.safetensors") == ModelFileKind::safetensors);
    CHECK(detect_model_file(dir / "model.bin") == ModelFileKind::artifact);
    CHECK(model_file_kind_name(ModelFileKind::artifact) == "artifact");
    CHECK(error_of([&] { detect_model_file(dir / "junk"); }).find("neither a checkpoint") != std::string::npos);
    CHECK(error_of([&] { detect_model_file(dir / "nothing"); }).find("no such file") != std::string::npos);

    expect_same_maps(load_model_weights(dir / "run.ckpt"), state);  // optimizer state dropped
    expect_same_maps(load_model_weights(dir / "weights.safetensors"), state);
    expect_same_maps(load_model_weights(dir / "model.bin"), dequantize(quantize_int8(state)));
}
