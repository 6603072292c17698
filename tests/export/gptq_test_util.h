// Helpers of the GPTQ tests: the layer-output error GPTQ minimises, round-to-nearest as GPTQ without
// error feedback, a briefly trained tiny GPT (`steps` training steps of the trainer's step graphs,
// from the seed-1337 initial state, on the skewed synthetic batches, so that the layers' inputs
// have the uneven second moments GPTQ exploits) and its calibration Hessians over that kind of text.
#pragma once
#include <cmath>
#include <span>

#include "frontend/export/gptq.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/calibration.h"
#include "frontend/train/step_runner.h"
#include "tests/support/skewed_batches.h"

namespace pg::export_test {

// tr(E H Eᵀ) for E = W − dequantized(q): the summed squared error of the layer's outputs over the
// calibration tokens, which is what GPTQ minimises.
inline double output_error(const HostTensor& w, const io::QuantizedTensor& q, const io::Hessian& h) {
    const std::vector<float> a = io::tensor_to_f32(w), b = io::tensor_to_f32(io::dequantize_tensor(q));
    const int64_t rows = w.shape[0], n = w.shape[1];
    double total = 0;
    std::vector<double> e(static_cast<size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < n; ++j) e[static_cast<size_t>(j)] = static_cast<double>(a[r * n + j]) - b[r * n + j];
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j)
                total += e[static_cast<size_t>(i)] * h.sum[static_cast<size_t>(i * n + j)] * e[static_cast<size_t>(j)];
    }
    return total;
}

inline io::Hessian identity_hessian(int64_t n) {
    io::Hessian h{n, std::vector<double>(static_cast<size_t>(n * n), 0.0), 1};
    for (int64_t i = 0; i < n; ++i) h.sum[static_cast<size_t>(i * n + i)] = 1.0;
    return h;
}

inline io::TensorMap train_tiny(Session& session, const Hyperparams& h, int steps) {
    StepRunner runner(h, session);
    for (const auto& [name, value] : runner.initial_state(1337)) runner.set_state(name, value);
    testing::SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 4,
                                   7);
    for (int64_t s = 0; s < steps; ++s) {
        runner.set_scalars(s, 1.0);
        runner.run([&](int64_t micro, HostTensor& ids, HostTensor& targets) { batches.fill(s, micro, ids, targets); });
    }
    io::TensorMap w;
    for (const ParamSpec& p : runner.graphs().model_specs) w.emplace(p.name, runner.get_state(p.name));
    return w;
}

// The calibration Hessians of `weights` over `batches` batches of 4 skewed sequences (seed 11): the
// kind of text the tiny model was trained on.
inline io::HessianMap skewed_hessians(Session& session, const Hyperparams& h, const io::TensorMap& weights, int batches) {
    const int64_t rows = 4;
    Calibrator cal(h.model, rows, h.train_seq_len, session);
    cal.set_weights(weights);
    testing::SkewedBatches data(1, rows, h.train_seq_len, h.model.vocab_size, batches, 11);
    HostTensor ids(DType::i32, {rows, h.train_seq_len}), targets(DType::i32, {rows, h.train_seq_len});
    for (int b = 0; b < batches; ++b) {
        data.fill(b, 0, ids, targets);
        cal.add_batch(std::span(reinterpret_cast<const int32_t*>(ids.data()), static_cast<size_t>(ids.numel())));
    }
    return cal.hessians();
}

}  // namespace pg::export_test
