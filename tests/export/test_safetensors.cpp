// safetensors: round trip of every dtype (scalars, empty tensors, metadata), the byte layout as a
// hand-written Python parser sees it, reading a file Python wrote, and a clear pg::Error naming
// the file and the tensor for each kind of damage to the header or data.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <nlohmann/json.hpp>

#include "frontend/export/safetensors.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

TensorMap every_dtype(std::mt19937& rng) {
    TensorMap m;
    m["tok_emb.weight"] = random_tensor(DType::bf16, {16, 8}, rng);
    m["blocks.0.attn.c_q.weight"] = random_tensor(DType::f32, {8, 8}, rng);
    m["blocks.0.attn.q_gain"] = random_tensor(DType::f32, {4}, rng);
    m["half"] = random_tensor(DType::f16, {3, 5}, rng);
    m["i64"] = random_tensor(DType::i64, {7}, rng);
    m["i32"] = random_tensor(DType::i32, {2, 3}, rng);
    m["u16"] = random_tensor(DType::u16, {5}, rng);
    m["u8"] = random_tensor(DType::u8, {3}, rng);  // odd byte count before nothing
    m["bool"] = random_tensor(DType::boolean, {9}, rng);
    m["scalar"] = random_tensor(DType::f32, {}, rng);
    m["empty"] = HostTensor(DType::f32, {0, 3});
    // NaN payloads and negative zero survive bit-exactly.
    HostTensor special(DType::f32, {3});
    const uint32_t bits[3] = {0x7fc01234u, 0x80000000u, 0xff800000u};
    std::memcpy(special.data(), bits, sizeof(bits));
    m["special"] = special;
    return m;
}

// Writes a file whose header is `header` (a JSON text) followed by `data`.
void write_with_header(const std::filesystem::path& path, const std::string& header, const std::string& data) {
    std::string blob(8, '\0');
    uint64_t n = header.size();
    std::memcpy(blob.data(), &n, 8);
    write_raw(path, blob + header + data);
}

}  // namespace

TEST_CASE("export: safetensors round trip of every dtype with metadata") {
    TempDir dir;
    std::mt19937 rng(1);
    const TensorMap tensors = every_dtype(rng);
    const MetaMap meta = {{"step", "12"}, {"config.MODEL_DIM", "512"}, {"empty", ""}, {"unicode", "π≈3.14"}};
    write_safetensors(dir / "w.safetensors", tensors, meta);
    const SafetensorsFile back = read_safetensors(dir / "w.safetensors");
    CHECK(back.metadata == meta);
    REQUIRE(back.tensors.size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        INFO(name);
        CHECK(same_tensor(back.tensors.at(name), t));
    }
    const SafetensorsHeader h = read_safetensors_header(dir / "w.safetensors");
    CHECK(h.data_start % 8 == 0);
    CHECK(h.entries.at("i64").begin == 0);  // largest elements first
    CHECK(h.entries.at("tok_emb.weight").dtype == DType::bf16);

    // No metadata: no "__metadata__" entry at all.
    write_safetensors(dir / "plain.safetensors", {{"x", tensors.at("i32")}});
    CHECK(read_raw(dir / "plain.safetensors").find("__metadata__") == std::string::npos);
    CHECK(read_safetensors(dir / "plain.safetensors").metadata.empty());
    CHECK(dir.entries() == std::vector<std::string>{"plain.safetensors", "w.safetensors"});
}

TEST_CASE("export: safetensors layout checked by an independent Python parser") {
    if (!python_has("json")) {
        PG_SKIP(kPython << " is not available");
    }
    TempDir dir;
    std::mt19937 rng(2);
    const TensorMap tensors = every_dtype(rng);
    write_safetensors(dir / "w.safetensors", tensors, {{"note", "hello"}});
    const CommandResult r =
        run_command(std::string(kPython) + " " + script_path("safetensors_layout.py") + " check " + (dir / "w.safetensors").string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const auto parsed = nlohmann::json::parse(r.output);
    CHECK(parsed["metadata"]["note"] == "hello");
    CHECK(parsed["tensors"].size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        INFO(name);
        const auto& e = parsed["tensors"][name];
        CHECK(e["dtype"] == std::string(safetensors_dtype_name(t.dtype)));
        CHECK(e["shape"].get<Shape>() == t.shape);
        REQUIRE(e["values"].size() == static_cast<size_t>(t.numel()));
        for (int64_t i = 0; i < t.numel(); ++i) {
            const double want = t.get(i);
            const auto& got = e["values"][static_cast<size_t>(i)];
            if (std::isnan(want)) CHECK(got == "nan");
            else if (std::isinf(want)) CHECK(got == (want > 0 ? "inf" : "-inf"));
            else CHECK(got.get<double>() == want);
        }
    }
}

TEST_CASE("export: safetensors reads a file written by hand in Python") {
    if (!python_has("json")) {
        PG_SKIP(kPython << " is not available");
    }
    TempDir dir;
    const auto path = dir / "py.safetensors";
    const CommandResult r = run_command(std::string(kPython) + " " + script_path("safetensors_layout.py") + " write " + path.string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const SafetensorsFile f = read_safetensors(path);
    CHECK(f.metadata == MetaMap{{"format", "pt"}, {"note", "written by hand"}});
    CHECK(f.tensors.size() == 10);
    CHECK(f.tensors.at("py.f32").to_doubles() == std::vector<double>{0.5, -1.25, 3.0, static_cast<float>(1e-3), -7.5, 65504.0});
    CHECK(f.tensors.at("py.bf16").to_doubles() == std::vector<double>{1.0, -2.0, 0.25});
    CHECK(f.tensors.at("py.f16").to_doubles() == std::vector<double>{0.333251953125, -2.5});
    CHECK(f.tensors.at("py.i64").to_doubles() == std::vector<double>{-1099511627776.0, 7.0});
    CHECK(f.tensors.at("py.i32").shape == Shape{1, 1});
    CHECK(f.tensors.at("py.i32").get(0) == -123456);
    CHECK(f.tensors.at("py.u16").to_doubles() == std::vector<double>{0, 1023, 65535});
    CHECK(f.tensors.at("py.u8").to_doubles() == std::vector<double>{0, 1, 128, 255});
    CHECK(f.tensors.at("py.bool").to_doubles() == std::vector<double>{1, 0});
    CHECK(f.tensors.at("py.scalar").shape.empty());
    CHECK(f.tensors.at("py.scalar").get(0) == 42.0);
    CHECK(f.tensors.at("py.empty").shape == Shape{0, 4});
}

TEST_CASE("export: safetensors damage gives a pg::Error naming the file and the tensor") {
    TempDir dir;
    const auto path = dir / "bad.safetensors";
    const std::string f32x2 = std::string("\0\0\x80?\0\0\0@", 8);  // 1.0f, 2.0f
    struct Case {
        const char* what;
        std::string header;
        std::string data;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {"not JSON", "{\"w\": {\"dtype\": \"F32\",", f32x2, "not valid JSON"},
        {"not an object", "[1, 2]", "", "not a JSON object"},
        {"unsupported dtype", R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", f32x2,
         "tensor 'w' has dtype F64"},
        {"dtype not a string", R"({"w": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}})", f32x2, "non-string dtype"},
        {"size mismatch", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", f32x2,
         "tensor 'w' (F32 [3]) spans 8 bytes but its dtype and shape need 12"},
        {"negative extent", R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", f32x2,
         "tensor 'w' has shape entry -2"},
        {"shape not an array", R"({"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", f32x2,
         "shape that is not an array"},
        {"offsets reversed", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})", f32x2, "begin > end"},
        {"offsets malformed", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", f32x2,
         "expected [begin, end]"},
        {"missing field", R"({"w": {"dtype": "F32", "shape": [2]}})", f32x2, "tensor 'w' lacks the 'data_offsets' field"},
        {"unknown field", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}})", f32x2,
         "unknown header field 'x'"},
        {"truncated data", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", f32x2.substr(0, 5),
         "truncated"},
        {"trailing bytes", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", f32x2 + "xx",
         "2 unexpected bytes follow"},
        {"gap", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", f32x2,
         "tensor 'w' starts at data offset 4"},
        {"overlap",
         R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
         f32x2, "tensor 'b' starts at data offset 4 but the previous tensor ends at 8"},
        {"metadata not strings", R"({"__metadata__": {"step": 3}})", "", "__metadata__ entry 'step' is 3"},
        {"metadata not an object", R"({"__metadata__": "x"})", "", "__metadata__ is not an object"},
        {"bool bytes", R"({"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})", std::string("\x01\x02", 2),
         "bool tensor 'm' holds bytes other than 0 and 1"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        write_with_header(path, c.header, c.data);
        const std::string msg = error_of([&] { read_safetensors(path); });
        CHECK(msg.find(path.string()) != std::string::npos);
        CHECK_MESSAGE(msg.find(c.expect) != std::string::npos, msg);
    }

    // Damage to the length prefix itself.
    write_raw(path, "abc");
    CHECK(error_of([&] { read_safetensors(path); }).find("shorter than the 8-byte header length") != std::string::npos);
    write_raw(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
    CHECK(error_of([&] { read_safetensors(path); }).find("header length of") != std::string::npos);
    write_raw(path, std::string("\x40\0\0\0\0\0\0\0{}", 10));
    CHECK(error_of([&] { read_safetensors(path); }).find("the header needs 72 bytes but the file has 10") != std::string::npos);
    CHECK(error_of([&] { read_safetensors(dir / "missing.safetensors"); }).find("no such file") != std::string::npos);

    // A valid file cut short anywhere is rejected.
    std::mt19937 rng(3);
    write_safetensors(dir / "good.safetensors", every_dtype(rng));
    const std::string good = read_raw(dir / "good.safetensors");
    for (size_t cut : {size_t{0}, size_t{7}, size_t{20}, good.size() / 2, good.size() - 1}) {
        INFO(cut);
        write_raw(path, good.substr(0, cut));
        CHECK(error_of([&] { read_safetensors(path); }).find(path.string()) != std::string::npos);
    }
}

TEST_CASE("export: safetensors refuses to write invalid tensors") {
    TempDir dir;
    const auto path = dir / "w.safetensors";
    HostTensor ok(DType::f32, {2});
    HostTensor short_bytes(DType::f32, {4});
    short_bytes.bytes.resize(12);
    CHECK(error_of([&] { write_safetensors(path, {{"", ok}}); }).find("empty name") != std::string::npos);
    CHECK(error_of([&] { write_safetensors(path, {{"__metadata__", ok}}); }).find("reserved") != std::string::npos);
    CHECK(error_of([&] { write_safetensors(path, {{"w", short_bytes}}); })
              .find("tensor 'w' (f32 [4]) holds 12 bytes, expected 16") != std::string::npos);
    CHECK(error_of([&] { write_safetensors(path, {{std::string("bad\xff", 4), ok}}); }).find("UTF-8") != std::string::npos);
    CHECK(dir.entries().empty());
}
