// GPTQ and its calibration: the Hessians the backend's calibration graph outputs equal XᵀX of the
// layer inputs computed on the host (first block at initialisation, where its input is known in
// closed form); on a briefly trained tiny GPT, GPTQ's layer-output error tr(E H Eᵀ) (E = W − Ŵ)
// is below round-to-nearest's at the same bits and scales for every linear layer; the algorithm's
// corner cases (dead columns, shapes, per-group formats) behave as the spec says.
#include <doctest/doctest.h>

#include <cmath>

#include "frontend/export/gptq.h"
#include "frontend/nn/layers.h"
#include "frontend/train/calibration.h"
#include "frontend/train/step_runner.h"
#include "tests/export/export_test_util.h"
#include "tests/export/gptq_test_util.h"
#include "tests/support/skewed_batches.h"
#include "tests/support/skip.h"
#include "tests/support/training_configs.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

std::vector<float> rms_normed(std::vector<float> x) {
    double ss = 0;
    for (float v : x) ss += static_cast<double>(v) * v;
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + nn::kRmsEps);
    for (float& v : x) v = static_cast<float>(v * inv);
    return x;
}

}  // namespace

TEST_CASE("export: the calibration graph's Hessians equal XᵀX of the layer inputs") {
    Hyperparams h = testing::tiny_training();
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    const std::map<std::string, HostTensor> state = runner.initial_state(1337);
    io::TensorMap init;
    for (const ParamSpec& p : runner.graphs().model_specs) init.emplace(p.name, state.at(p.name));
    const HessianMap hs = skewed_hessians(*session, h, init, 2);
    const int64_t d = h.model.model_dim;
    // Every linear layer and the tied head.
    CHECK(hs.size() == 2 * 6 + 1);
    CHECK(hs.at("blocks.0.mlp.fc.weight").dim == d);
    CHECK(hs.at("blocks.0.mlp.proj.weight").dim == 2 * d);
    CHECK(hs.at("tok_emb.weight").dim == d);
    CHECK(hs.at("blocks.0.attn.c_q.weight").sum == hs.at("blocks.0.attn.c_k.weight").sum);  // one shared input
    CHECK(hs.at("blocks.0.attn.c_q.weight").rows == 2 * 4 * h.train_seq_len);
    // At initialisation resid_mix = [1, 0], so block 0's attention input is rms_norm(rms_norm(emb[id])).
    const HostTensor& emb = init.at("tok_emb.weight");
    const std::vector<float> table = tensor_to_f32(emb);
    testing::SkewedBatches data(1, 4, h.train_seq_len, h.model.vocab_size, 2, 11);
    HostTensor ids(DType::i32, {4, h.train_seq_len}), targets(DType::i32, {4, h.train_seq_len});
    std::vector<double> ref(static_cast<size_t>(d * d), 0.0);
    for (int b = 0; b < 2; ++b) {
        data.fill(b, 0, ids, targets);
        for (int64_t t = 0; t < ids.numel(); ++t) {
            const auto id = static_cast<int64_t>(ids.get(t));
            const std::vector<float> x =
                rms_normed(rms_normed(std::vector<float>(table.begin() + id * d, table.begin() + (id + 1) * d)));
            for (int64_t i = 0; i < d; ++i)
                for (int64_t j = 0; j < d; ++j) ref[static_cast<size_t>(i * d + j)] += static_cast<double>(x[i]) * x[j];
        }
    }
    // fp32 sums of 256 products of unit-scale values: relative error ~1e-6; 1e-4 of the largest
    // entry (the diagonal, ~256) leaves room for the backend's summation order.
    const std::vector<double>& got = hs.at("blocks.0.attn.c_q.weight").sum;
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        max_abs = std::max(max_abs, std::fabs(ref[i]));
        max_err = std::max(max_err, std::fabs(ref[i] - got[i]));
    }
    CHECK(max_err <= 1e-4 * max_abs);
}

TEST_CASE("export: GPTQ beats round-to-nearest on every layer of a trained model") {
    Hyperparams h = testing::tiny_training();
    std::unique_ptr<Session> session = open_session("cpu");
    const io::TensorMap weights = train_tiny(*session, h, 25);
    const HessianMap hs = skewed_hessians(*session, h, weights, 4);
    for (const char* fmt : {"int4", "int6@search", "ternary"}) {
        const QuantFormat f = parse_quant_format(fmt, "test");
        for (const auto& [name, hess] : hs) {
            INFO(fmt << " " << name);
            const HostTensor& w = weights.at(name);
            const QuantizedTensor g = gptq_quantize(name, w, hess, f, GptqConfig{});
            // Round to nearest with GPTQ's row scales: GPTQ with an identity Hessian and no damping
            // has no error feedback (U = I), so it is exactly that.
            const QuantizedTensor rtn = gptq_quantize(name, w, identity_hessian(w.shape[1]), f, {true, 128, 0.0, 1});
            CHECK(g.scale.bytes == rtn.scale.bytes);
            CHECK(output_error(w, g, hess) < output_error(w, rtn, hess));
        }
    }
}

TEST_CASE("export: GPTQ matches the NumPy reference written from the spec") {
    if (!python_has("torch") || !python_has("numpy")) {
        PG_SKIP(kPython << " cannot import torch and numpy (install python3-torch, python3-numpy)");
    }
    // 160 columns: a full block of 128 and a partial one, so the lazy block update is exercised;
    // inputs with correlated columns (x_j mixes a shared factor) and one dead column.
    const int64_t rows = 48, cols = 160, tokens = 256;
    std::mt19937 rng(9);
    std::normal_distribution<double> normal(0, 1);
    std::vector<double> x(static_cast<size_t>(tokens * cols));
    for (int64_t t = 0; t < tokens; ++t) {
        const double shared = normal(rng);
        for (int64_t j = 0; j < cols; ++j)
            x[static_cast<size_t>(t * cols + j)] = j == 37 ? 0.0 : 0.7 * shared + normal(rng) * (1 + j % 3);
    }
    HostTensor hf(DType::f32, {cols, cols});
    for (int64_t i = 0; i < cols; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            double v = 0;
            for (int64_t t = 0; t < tokens; ++t) v += x[static_cast<size_t>(t * cols + i)] * x[static_cast<size_t>(t * cols + j)];
            hf.set(i * cols + j, v);  // rounded to fp32: both sides read these exact values
        }
    Hessian h{cols, hf.to_doubles(), tokens};
    TempDir dir;
    TensorMap in;
    MetaMap meta;
    const std::vector<std::string> formats = {"int4", "int6@search", "ternary", "int8@sd20", "int5"};
    for (size_t k = 0; k < formats.size(); ++k) {
        const std::string name = "m" + std::to_string(k);
        in[name + ".w"] = random_tensor(DType::f32, {rows, cols}, rng, 0.05);
        in[name + ".w"].set(5 * cols + 11, 0.6);  // an outlier
        in[name + ".h"] = hf;
        meta[name] = formats[k];
        meta[name + ".rows"] = std::to_string(tokens);
    }
    write_safetensors(dir / "in.safetensors", in, meta);
    const CommandResult r = run_command(std::string(kPython) + " " + script_path("gptq_reference.py") + " " +
                                        (dir / "in.safetensors").string() + " " + (dir / "ref.safetensors").string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const SafetensorsFile ref = read_safetensors(dir / "ref.safetensors");
    for (size_t k = 0; k < formats.size(); ++k) {
        const std::string name = "m" + std::to_string(k);
        INFO(formats[k]);
        const QuantizedTensor q = gptq_quantize(name, in.at(name + ".w"), h, parse_quant_format(formats[k], "t"), {});
        CHECK(same_tensor(q.scale, ref.tensors.at(name + ".scale")));
        // Both sides work in double but sum in different orders (blocked dgemm vs NumPy), so a
        // code could differ where w / s lies within ~1e-12 of a rounding boundary: none expected.
        const HostTensor& rq = ref.tensors.at(name + ".q");
        int64_t differ = 0;
        for (int64_t i = 0; i < rq.numel(); ++i) differ += q.q[static_cast<size_t>(i)] != static_cast<int8_t>(rq.get(i));
        CHECK(differ == 0);
    }
}

TEST_CASE("export: GPTQ corner cases") {
    std::mt19937 rng(4);
    const HostTensor w = random_tensor(DType::f32, {16, 8}, rng, 0.1);
    Hessian h = identity_hessian(8);
    h.sum[3 * 8 + 3] = 0;  // a dead column: its weights are zeroed before quantizing
    const QuantizedTensor q = gptq_quantize("w", w, h, parse_quant_format("int6", "t"), GptqConfig{});
    for (int64_t r = 0; r < 16; ++r) CHECK(q.q[static_cast<size_t>(r * 8 + 3)] == 0);
    CHECK(q.format_name() == "int6_per_row");
    CHECK(error_of([&] { gptq_quantize("w", w, identity_hessian(9), parse_quant_format("int6", "t"), {}); })
              .find("GPTQ of 'w': its Hessian is 9x9") != std::string::npos);
    CHECK(error_of([&] { gptq_quantize("w", w, h, parse_quant_format("int6/g4", "t"), {}); })
              .find("needs one scale per row") != std::string::npos);
    Hessian indefinite = identity_hessian(8);
    indefinite.sum[0] = -50;
    CHECK(error_of([&] { gptq_quantize("w", w, indefinite, parse_quant_format("int6", "t"), {true, 128, 0.0, 1}); })
              .find("not positive definite") != std::string::npos);
}
