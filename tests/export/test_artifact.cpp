// Artifact: quantize -> zstd-22 container -> load -> dequantize gives back exactly what the
// in-memory dequantization gives; the file is a plain zstd frame (the zstd tool unpacks it); every
// kind of damage (truncation, flipped bytes, bad magic or version, size mismatches, stray bytes)
// is a pg::Error naming the file; model files are recognised by content.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// A scaled-down baseline state dict (dim 64, 2 layers, vocab 1200) so every scheme occurs.
TensorMap small_gpt_state(uint32_t seed) {
    std::mt19937 rng(seed);
    const int64_t d = 64, vocab = 1200;
    TensorMap m;
    m["tok_emb.weight"] = random_tensor(DType::bf16, {vocab, d}, rng, 0.005);  // 76,800: int8 per row
    for (int layer = 0; layer < 2; ++layer) {
        const std::string p = "blocks." + std::to_string(layer) + ".";
        m[p + "attn.c_q.weight"] = random_tensor(DType::f32, {d, d}, rng, 0.1);
        m[p + "attn.c_k.weight"] = random_tensor(DType::f32, {d / 2, d}, rng, 0.1);
        m[p + "attn.c_v.weight"] = random_tensor(DType::f32, {d / 2, d}, rng, 0.1);
        m[p + "attn.proj.weight"] = random_tensor(DType::f32, {d, d}, rng, 0.1);
        m[p + "attn.q_gain"] = random_tensor(DType::f32, {4}, rng);
        m[p + "mlp.fc.weight"] = random_tensor(DType::f32, {1100, d}, rng, 0.1);  // 70,400: int8 per row
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

std::string u32le(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

TEST_CASE("export: artifact round trip equals the in-memory dequantization") {
    TempDir dir;
    const auto path = dir / std::string(kArtifactFileName);
    const QuantizedModel model = quantize_int8(small_gpt_state(1));
    const ArtifactInfo info = save_artifact(path, model);
    CHECK(info.compressed_bytes == std::filesystem::file_size(path));
    CHECK(info.raw_bytes == encode_quantized(model).size());
    CHECK(info.compressed_bytes < info.raw_bytes);
    CHECK(dir.entries() == std::vector<std::string>{std::string(kArtifactFileName)});

    const QuantizedModel back = load_artifact(path);
    CHECK(encode_quantized(back) == encode_quantized(model));
    CHECK(back.stats().int8_payload_bytes == model.stats().int8_payload_bytes);
    CHECK(back.stats().baseline_tensor_bytes == model.stats().baseline_tensor_bytes);
    expect_same_maps(load_artifact_weights(path), dequantize(model));
    CHECK(load_artifact_weights(path).at("tok_emb.weight").dtype == DType::bf16);

    // An empty model is a valid (tiny) artifact.
    save_artifact(dir / "empty.zst", QuantizedModel{});
    CHECK(load_artifact(dir / "empty.zst").tensors.empty());
}

TEST_CASE("export: artifact is a standard zstd frame") {
    if (run_command("zstd --version").status != 0) {
        PG_SKIP("the zstd command-line tool is not installed");
    }
    TempDir dir;
    const QuantizedModel model = quantize_int8(small_gpt_state(2));
    save_artifact(dir / "a.zst", model);
    const CommandResult r = run_command("zstd -q -d -f " + (dir / "a.zst").string() + " -o " + (dir / "a.raw").string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(read_raw(dir / "a.raw") == encode_quantized(model));
}

TEST_CASE("export: damaged artifacts give a pg::Error naming the file") {
    TempDir dir;
    const auto good_path = dir / "good.zst";
    const QuantizedModel model = quantize_int8(small_gpt_state(3));
    save_artifact(good_path, model);
    const std::string good = read_raw(good_path);
    const std::string raw = encode_quantized(model);
    const auto path = dir / "bad.zst";
    auto message = [&](const std::string& bytes) {
        write_raw(path, bytes);
        const std::string msg = error_of([&] { load_artifact(path); });
        CHECK_MESSAGE(msg.find(path.string()) != std::string::npos, msg);
        return msg;
    };

    CHECK(message("").find("is empty") != std::string::npos);
    CHECK(message(good.substr(0, good.size() / 2)).find("not a complete zstd frame") != std::string::npos);
    CHECK(message(good.substr(0, good.size() - 1)).find("not a complete zstd frame") != std::string::npos);
    CHECK(message(good + "x").find("1 unexpected bytes follow its zstd frame") != std::string::npos);
    CHECK(message("this is plain text, not zstd").find("not a complete zstd frame") != std::string::npos);
    // Flipped bytes inside the compressed data: the frame checksum or the decoder catches them.
    for (size_t at : {good.size() / 3, good.size() / 2, good.size() - 6}) {
        INFO(at);
        std::string flipped = good;
        flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
        CHECK(!message(flipped).empty());
    }

    // Valid zstd frames with a damaged container inside.
    CHECK(message(compress_artifact("PGQX" + raw.substr(4))).find("bad magic") != std::string::npos);
    CHECK(message(compress_artifact("PGQ8" + u32le(7) + raw.substr(8))).find("artifact version 7") != std::string::npos);
    CHECK(message(compress_artifact(raw.substr(0, raw.size() - 10))).find("truncated or corrupt") != std::string::npos);
    CHECK(message(compress_artifact(raw + "zz")).find("2 unexpected bytes follow the last") != std::string::npos);
    CHECK(message(compress_artifact(raw.substr(0, 8) + u32le(1000) + raw.substr(12))).find("truncated or corrupt") !=
          std::string::npos);
    // The first record: name length, name, then scheme, dtype bytes, rank, extents.
    const size_t rec = 12 + 4 + model.tensors.begin()->first.size();
    std::string bad_scheme = raw;
    bad_scheme[rec] = 9;
    CHECK(message(compress_artifact(bad_scheme)).find("unknown scheme 9") != std::string::npos);
    std::string bad_dtype = raw;
    bad_dtype[rec + 1] = 42;
    CHECK(message(compress_artifact(bad_dtype)).find("original dtype code 42") != std::string::npos);
    std::string bad_extent = raw;
    bad_extent[rec + 5 + 7] = '\x80';  // the first extent's high byte: negative
    CHECK(message(compress_artifact(bad_extent)).find("invalid extent") != std::string::npos);
    CHECK(error_of([&] { load_artifact(dir / "missing.zst"); }).find("no such file") != std::string::npos);
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
    CHECK(model_file_kind_name(ModelFileKind::artifact) == "int8 artifact");
    CHECK(error_of([&] { detect_model_file(dir / "junk"); }).find("neither a checkpoint") != std::string::npos);
    CHECK(error_of([&] { detect_model_file(dir / "nothing"); }).find("no such file") != std::string::npos);

    expect_same_maps(load_model_weights(dir / "run.ckpt"), state);  // optimizer state dropped
    expect_same_maps(load_model_weights(dir / "weights.safetensors"), state);
    expect_same_maps(load_model_weights(dir / "model.bin"), dequantize(quantize_int8(state)));
}
