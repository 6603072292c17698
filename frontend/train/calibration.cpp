// The calibration graph and the Hessian sums (see calibration.h).
#include "frontend/train/calibration.h"

#include <cstring>

#include "base/error.h"
#include "frontend/nn/layers.h"
#include "frontend/train/model_weights.h"

namespace pg {

namespace {

std::string output_name(const std::string& weight) { return "hessian." + weight; }

}  // namespace

ModelGraph build_calibration_graph(const GptConfig& cfg, int64_t rows, int64_t seq_len,
                                   std::vector<std::string>* weights) {
    ModelGraph m;
    m.graph = std::make_unique<Graph>();
    m.params = std::make_unique<ParamSet>(*m.graph);
    Graph& g = *m.graph;
    std::map<std::string, Tensor> xtx;
    nn::ScopedLinearInputObserver observe([&](const std::string& weight, const Tensor& x) {
        Tensor x32 = x.cast(DType::f32);
        Tensor h = matmul(x32.transpose(0, 1), x32);
        auto [it, fresh] = xtx.emplace(weight, h);
        if (!fresh) it->second = it->second + h;  // a layer applied twice (looping) sums both
    });
    Tensor ids = input(g, "ids", {rows, seq_len}, DType::i32);
    Tensor targets = input(g, "targets", {rows, seq_len}, DType::i32);
    gpt_token_losses(*m.params, cfg, ids, targets);
    for (const auto& [weight, h] : xtx) {
        g.set_output(output_name(weight), h.id());
        weights->push_back(weight);
    }
    return m;
}

Calibrator::Calibrator(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session) {
    model_ = build_calibration_graph(cfg, rows, seq_len, &weights_);
    exe_ = compile_executable(session, *model_.graph);
    ids_ = HostTensor(DType::i32, {rows, seq_len});
    targets_ = HostTensor(DType::i32, {rows, seq_len});
}

void Calibrator::set_weights(const io::TensorMap& weights) {
    set_model_weights(*exe_, model_, weights);
}

void Calibrator::add_batch(std::span<const int32_t> ids) {
    PG_ASSERT(ids.size() * 4 == ids_.bytes.size(), "calibration batch of {} ids for {} bytes", ids.size(),
              ids_.bytes.size());
    std::memcpy(ids_.data(), ids.data(), ids_.bytes.size());
    exe_->set("ids", ids_);
    if (exe_->has_leaf("targets")) exe_->set("targets", targets_);
    exe_->run();
    for (const std::string& w : weights_) {
        const HostTensor out = exe_->get(output_name(w));
        io::Hessian& h = sums_[w];
        if (h.sum.empty()) {
            h.dim = out.shape[0];
            h.sum.assign(static_cast<size_t>(out.numel()), 0.0);
        }
        const auto* v = reinterpret_cast<const float*>(out.data());
        for (size_t i = 0; i < h.sum.size(); ++i) h.sum[i] += v[i];
        h.rows += ids_.numel();
    }
}

io::HessianMap collect_hessians(const Hyperparams& h, Session& session, const io::TensorMap& weights,
                                data::DistributedTokenLoader& loader, int64_t batches) {
    if (io::gptq_config_from_settings().self_generated)
        return collect_selfgen_hessians(h.model, session, weights, selfgen_config_from_settings());
    const int64_t accum = h.grad_accum_steps();
    const int64_t rows = h.rows_per_step() / accum;
    Calibrator cal(h.model, rows, h.train_seq_len, session);
    cal.set_weights(weights);
    for (int64_t b = 0; b < batches; ++b) {
        data::TokenBatch batch = loader.next_batch(h.train_batch_tokens, h.train_seq_len, accum);
        cal.add_batch(batch.inputs);
    }
    return cal.hessians();
}

io::HessianMap collect_selfgen_hessians(const GptConfig& model, Session& session, const io::TensorMap& weights,
                                        const SelfGenConfig& cfg) {
    const std::vector<HostTensor> text = generate_calibration_tokens(model, session, weights, cfg);
    Calibrator cal(model, cfg.batch, cfg.seq_len, session);
    cal.set_weights(weights);
    for (const HostTensor& ids : text)
        cal.add_batch(std::span(static_cast<const int32_t*>(ids.data()), static_cast<size_t>(ids.numel())));
    return cal.hessians();
}

}  // namespace pg
