// int8 export: bit-exact agreement with the baseline's rules run in PyTorch (quantize_reference.py)
// on matrices with outliers, all-zero, tiny and half-way rows, bf16/fp16 tensors and per-tensor
// cases; the small-tensor and control-name rules; the error bound of the round trip; and
// torch.quantile's interpolation.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <cmath>

#include "frontend/export/quantize.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// A weight matrix whose rows probe every corner of the per-row rule.
HostTensor probe_matrix(std::mt19937& rng, int64_t rows, int64_t cols) {
    HostTensor t = random_tensor(DType::f32, {rows, cols}, rng, 0.02);
    auto at = [&](int64_t r, int64_t c, double v) { t.set(r * cols + c, v); };
    for (int64_t c = 0; c < cols; ++c) {
        at(0, c, 0.0);                                       // all zero: scale floors at 1/127
        at(3, c, 0.01);                                      // constant
        at(4, c, 1e-4 * std::sin(static_cast<double>(c)));  // tiny: the 1/127 floor dominates
        at(5, c, 10.0 * t.get(5 * cols + c) / 0.02);         // large: clip / 127 dominates
        at(6, c, (c % 2 ? -1.0 : 1.0) * static_cast<double>(c % 5) * 0.125);  // ties
        at(7, c, (static_cast<double>(c % 200) - 100 + 0.5) * 0.25);            // halves of the step
    }
    // Rows 8..39: a single non-zero element, so clip = lerp(0, max, w). For the first three
    // maxima (found by search for 512 columns) an unfused lerp is 1 ulp off torch's fused one.
    const double fma_sensitive[3] = {2.584056854248047, 2.3930845260620117, 2.9822049140930176};
    std::uniform_real_distribution<double> mag(0.01, 4.0);
    for (int64_t r = 8; r < 40; ++r) {
        const double peak = r < 11 ? fma_sensitive[r - 8] : mag(rng);
        for (int64_t c = 0; c < cols; ++c) at(r, c, c == r ? peak : 0.0);
    }
    at(1, 17, 5.0);    // one outlier
    at(2, 3, -1.0);    // several outliers
    at(2, 9, 0.8);
    at(2, 100, 0.95);
    at(7, 10, 31.75);  // row 7: two maxima of 127 steps, so clip is exact and the step is 0.25
    at(7, 20, -31.75);
    return t;
}

TensorMap probe_state_dict() {
    std::mt19937 rng(1337);
    TensorMap m;
    m["blocks.0.attn.c_q.weight"] = probe_matrix(rng, 300, 512);
    m["blocks.0.mlp.fc.weight"] = random_tensor(DType::f32, {1024, 512}, rng, 0.044);
    m["tok_emb.weight"] = random_tensor(DType::bf16, {600, 128}, rng, 0.005);
    m["half.weight"] = random_tensor(DType::f16, {300, 256}, rng, 0.1);
    m["conv.weight"] = random_tensor(DType::f32, {4, 150, 128}, rng, 0.3);        // per tensor
    m["long.vector"] = random_tensor(DType::f32, {400'000}, rng, 1.0);           // per tensor, lerp weight < 0.5
    m["zero.vector"] = HostTensor(DType::f32, {70'000});                          // per tensor, clip 0
    m["bf16.vector"] = random_tensor(DType::bf16, {70'000}, rng, 2.0);
    m["boundary.passthrough"] = random_tensor(DType::f32, {256, 256}, rng);       // exactly 65,536
    m["boundary.quantized"] = random_tensor(DType::f32, {65'537}, rng);
    m["blocks.0.attn_scale"] = random_tensor(DType::f32, {512}, rng);
    m["blocks.0.mlp_scale"] = random_tensor(DType::bf16, {512}, rng);             // control, bf16
    m["blocks.0.resid_mix"] = random_tensor(DType::f32, {2, 512}, rng);
    m["blocks.0.attn.q_gain"] = random_tensor(DType::f32, {8}, rng);
    m["skip_weights"] = random_tensor(DType::f32, {4, 512}, rng);
    m["small.weight"] = random_tensor(DType::f32, {64, 64}, rng);
    m["small.bf16"] = random_tensor(DType::bf16, {100}, rng);
    m["small.f16"] = random_tensor(DType::f16, {10}, rng);
    m["scalar"] = random_tensor(DType::f32, {}, rng);
    m["big.attn_scale"] = random_tensor(DType::f32, {70'000}, rng);               // control name, but large
    m["counts"] = random_tensor(DType::i64, {70'000}, rng);
    m["mask"] = random_tensor(DType::boolean, {5}, rng);
    m["ids"] = random_tensor(DType::i32, {4}, rng);
    return m;
}

std::vector<int8_t> q_from_i32(const HostTensor& t) {
    std::vector<int8_t> out;
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<int8_t>(t.get(i)));
    return out;
}

// torch_quantile on each row (or the whole tensor) equals torch.quantile's clip values.
void check_clips(const HostTensor& w, QuantScheme scheme, const HostTensor& ref_clip) {
    const int64_t groups = scheme == QuantScheme::per_row ? w.shape[0] : 1;
    const int64_t size = w.numel() / groups;
    int64_t mismatches = 0;
    for (int64_t g = 0; g < groups; ++g) {
        std::vector<float> abs_w;
        for (int64_t i = 0; i < size; ++i) abs_w.push_back(std::fabs(static_cast<float>(w.get(g * size + i))));
        mismatches += torch_quantile(abs_w, kInt8ClipQuantile) != static_cast<float>(ref_clip.get(g));
    }
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("export: int8 quantization matches the PyTorch reference bit for bit") {
    if (!python_has("torch")) {
        PG_SKIP(kPython << " cannot import torch (install python3-torch)");
    }
    TempDir dir;
    const TensorMap sd = probe_state_dict();
    write_safetensors(dir / "in.safetensors", sd);
    const CommandResult r = run_command(std::string(kPython) + " " + script_path("quantize_reference.py") + " " +
                                        (dir / "in.safetensors").string() + " " + (dir / "ref.safetensors").string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const SafetensorsFile ref = read_safetensors(dir / "ref.safetensors");

    const QuantizedModel model = quantize_int8(sd);
    REQUIRE(model.tensors.size() == sd.size());
    for (const auto& [name, qt] : model.tensors) {
        INFO(name);
        REQUIRE(ref.metadata.at(name) == qt.format_name());
        if (qt.scheme == QuantScheme::passthrough) {
            CHECK(same_tensor(qt.stored, ref.tensors.at(name + ".stored")));
        } else {
            CHECK(qt.q == q_from_i32(ref.tensors.at(name + ".q")));
            check_clips(sd.at(name), qt.scheme, ref.tensors.at(name + ".clip"));
            CHECK(same_tensor(qt.scale, ref.tensors.at(name + ".scale")));
        }
        CHECK(same_tensor(dequantize_tensor(qt), ref.tensors.at(name + ".deq")));
    }
    CHECK(model.tensors.at("blocks.0.attn.c_q.weight").scheme == QuantScheme::per_row);
    CHECK(model.tensors.at("long.vector").scheme == QuantScheme::per_tensor);
}

TEST_CASE("export: small tensors, control names and non-floats follow the baseline's rules") {
    TensorMap sd = probe_state_dict();
    sd["blocks.0.attn.c_q.weight.momentum_buffer"] = sd.at("blocks.0.attn.c_q.weight");
    sd["tok_emb.weight.exp_avg"] = sd.at("tok_emb.weight");
    const QuantizedModel model = quantize_int8(sd);
    CHECK(!model.tensors.contains("blocks.0.attn.c_q.weight.momentum_buffer"));  // never optimizer state
    CHECK(!model.tensors.contains("tok_emb.weight.exp_avg"));
    CHECK(model.tensors.size() == sd.size() - 2);

    struct Expect {
        const char* name;
        QuantScheme scheme;
        DType stored;  // passthrough only
        DType out;
    };
    const QuantScheme pass = QuantScheme::passthrough;
    const std::vector<Expect> expects = {
        {"blocks.0.attn_scale", pass, DType::f32, DType::f32},
        {"blocks.0.mlp_scale", pass, DType::f32, DType::f32},  // control: fp32 whatever it was
        {"blocks.0.resid_mix", pass, DType::f32, DType::f32},
        {"blocks.0.attn.q_gain", pass, DType::f32, DType::f32},
        {"skip_weights", pass, DType::f32, DType::f32},
        {"small.weight", pass, DType::f16, DType::f32},
        {"small.bf16", pass, DType::f16, DType::bf16},
        {"small.f16", pass, DType::f16, DType::f16},
        {"scalar", pass, DType::f16, DType::f32},
        {"boundary.passthrough", pass, DType::f16, DType::f32},
        {"counts", pass, DType::i64, DType::i64},
        {"mask", pass, DType::boolean, DType::boolean},
        {"ids", pass, DType::i32, DType::i32},
        {"boundary.quantized", QuantScheme::per_tensor, DType::f32, DType::f32},
        {"big.attn_scale", QuantScheme::per_tensor, DType::f32, DType::f32},
        {"tok_emb.weight", QuantScheme::per_row, DType::f32, DType::bf16},
        {"half.weight", QuantScheme::per_row, DType::f32, DType::f16},
        {"conv.weight", QuantScheme::per_tensor, DType::f32, DType::f32},
    };
    for (const Expect& e : expects) {
        INFO(e.name);
        const QuantizedTensor& qt = model.tensors.at(e.name);
        CHECK(qt.scheme == e.scheme);
        CHECK(qt.out_dtype == e.out);
        CHECK(qt.orig_dtype == sd.at(e.name).dtype);
        if (qt.scheme == pass) CHECK(qt.stored.dtype == e.stored);
        const HostTensor back = dequantize_tensor(qt);
        CHECK(back.dtype == e.out);
        CHECK(back.shape == sd.at(e.name).shape);
    }
    // Exact passthroughs come back bit-identical; fp16-stored ones as their fp16 rounding.
    for (const char* name : {"blocks.0.attn_scale", "skip_weights", "small.f16", "counts", "mask", "ids"})
        CHECK(same_tensor(dequantize_tensor(model.tensors.at(name)), sd.at(name)));
    const HostTensor small = dequantize_tensor(model.tensors.at("small.weight"));
    for (int64_t i = 0; i < small.numel(); ++i)
        REQUIRE(small.get(i) == round_to_dtype(sd.at("small.weight").get(i), DType::f16));
    const HostTensor mlp_scale = dequantize_tensor(model.tensors.at("blocks.0.mlp_scale"));
    CHECK(mlp_scale.to_doubles() == sd.at("blocks.0.mlp_scale").to_doubles());

    // The statistics the baseline logs.
    const QuantStats s = model.stats();
    CHECK(s.num_tensors == static_cast<int64_t>(model.tensors.size()));
    CHECK(s.num_nonfloat_tensors == 3);
    CHECK(s.num_float_tensors == 10);
    int64_t params = 0, raw = 0, payload = 0;
    for (const auto& [name, qt] : model.tensors) {
        params += sd.at(name).numel();
        raw += static_cast<int64_t>(sd.at(name).bytes.size());
        payload += qt.payload_bytes();
    }
    CHECK(s.param_count == params);
    CHECK(s.baseline_tensor_bytes == raw);
    CHECK(s.int8_payload_bytes == payload);
    CHECK(model.tensors.at("blocks.0.attn.c_q.weight").payload_bytes() == 300 * 512 + 300 * 2);
    CHECK(model.tensors.at("conv.weight").payload_bytes() == 4 * 150 * 128 + 4);

    CHECK(is_control_tensor_name("blocks.3.attn.q_gain"));
    CHECK(is_control_tensor_name("skip_weight"));
    CHECK(!is_control_tensor_name("blocks.0.attn.c_q.weight"));
}

TEST_CASE("export: per-row int8 round trip error is within half a quantization step") {
    std::mt19937 rng(5);
    const HostTensor w = probe_matrix(rng, 80, 1024);
    const QuantizedTensor qt = quantize_tensor("blocks.0.attn.c_q.weight", w);
    REQUIRE(qt.scheme == QuantScheme::per_row);
    const HostTensor back = dequantize_tensor(qt);
    const int64_t rows = 80, cols = 1024;
    int64_t clipped_count = 0;
    for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> abs_row;
        for (int64_t c = 0; c < cols; ++c) abs_row.push_back(std::fabs(static_cast<float>(w.get(r * cols + c))));
        const float clip = torch_quantile(abs_row, kInt8ClipQuantile);
        const double s32 = std::max(clip / 127.0f, static_cast<float>(1.0 / 127.0));
        const double s16 = qt.scale.get(r);
        CHECK(std::fabs(s16 - s32) <= s32 * std::ldexp(1.0, -11));
        // q is the rounding of the clipped value in steps of the fp32 scale; the stored fp16 scale
        // moves the dequantized value by at most |q| * |s16 - s32|.
        const double bound = 0.5 * s32 * (1 + 1e-6) + 127 * std::fabs(s16 - s32) + 1e-7 * 127 * s16;
        for (int64_t c = 0; c < cols; ++c) {
            const double x = w.get(r * cols + c);
            const double clipped = std::clamp(x, -static_cast<double>(clip), static_cast<double>(clip));
            clipped_count += clipped != x;
            const int64_t i = r * cols + c;
            REQUIRE(std::fabs(static_cast<double>(qt.q[static_cast<size_t>(i)]) * s32 - clipped) <= 0.5 * s32 * (1 + 1e-6));
            REQUIRE(std::fabs(back.get(i) - clipped) <= bound);
        }
    }
    CHECK(clipped_count > 0);  // the outliers are clipped to the quantile, not represented
    // The all-zero row: q = 0, scale = fp16(1/127), exact zeros back.
    CHECK(qt.scale.get(0) == round_to_dtype(1.0 / 127.0, DType::f16));
    for (int64_t c = 0; c < cols; ++c) CHECK(back.get(c) == 0.0);
    // Row 7 lies on half steps: round half to even.
    CHECK(qt.q[static_cast<size_t>(7 * cols + 0)] == -100);  // -99.5 -> -100
    CHECK(qt.q[static_cast<size_t>(7 * cols + 1)] == -98);   // -98.5 -> -98
    CHECK(qt.q[static_cast<size_t>(7 * cols + 10)] == 127);

    // Per tensor: the fp32 scale is stored as is, so the bound is exactly half a step.
    const HostTensor v = random_tensor(DType::f32, {100'000}, rng, 3.0);
    const QuantizedTensor pt = quantize_tensor("v", v);
    REQUIRE(pt.scheme == QuantScheme::per_tensor);
    std::vector<float> abs_v;
    for (int64_t i = 0; i < v.numel(); ++i) abs_v.push_back(std::fabs(static_cast<float>(v.get(i))));
    const double clip = torch_quantile(abs_v, kInt8ClipQuantile);
    const double s = pt.scale.get(0);
    CHECK(s == static_cast<float>(clip / 127.0));
    const HostTensor vb = dequantize_tensor(pt);
    for (int64_t i = 0; i < v.numel(); ++i) {
        const double x = std::clamp(v.get(i), -clip, clip);
        REQUIRE(std::fabs(vb.get(i) - x) <= 0.5 * s * (1 + 1e-6));
    }
}

TEST_CASE("export: torch_quantile interpolates like torch.quantile") {
    CHECK(torch_quantile({3.0f}, 0.5f) == 3.0f);
    CHECK(torch_quantile({3.0f, 0.0f, 2.0f, 1.0f}, 0.5f) == 1.5f);
    CHECK(torch_quantile({3.0f, 0.0f, 2.0f, 1.0f}, 0.0f) == 0.0f);
    CHECK(torch_quantile({3.0f, 0.0f, 2.0f, 1.0f}, 1.0f) == 3.0f);
    CHECK(torch_quantile({1.0f, 1.0f, 5.0f, 5.0f}, 0.75f) == 5.0f);
    // rank 0.9999984 * 511 = 510.99918..: just below the maximum.
    std::vector<float> v(512);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    const float got = torch_quantile(v, kInt8ClipQuantile);
    CHECK(got < 511.0f);
    CHECK(got > 510.99f);
}

TEST_CASE("export: quantizing a diverged tensor names it") {
    HostTensor w(DType::f32, {300, 300});
    w.set(12345, std::nan(""));
    const std::string msg = error_of([&] { quantize_tensor("blocks.2.mlp.fc.weight", w); });
    CHECK(msg.find("tensor 'blocks.2.mlp.fc.weight': element 12345 is nan") != std::string::npos);
    HostTensor bad(DType::f32, {4});
    bad.bytes.resize(3);
    CHECK(error_of([&] { quantize_tensor("x", bad); }).find("holds 3 bytes") != std::string::npos);
}
