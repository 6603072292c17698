// Host reference of the TTT SGD step (see sgd_reference.h).
#include "tests/support/sgd_reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "graph/autodiff.h"

namespace pg::reference {
namespace {

bool in_frozen_block(const std::string& name, int64_t freeze_blocks) {
    for (int64_t i = 0; i < freeze_blocks; ++i)
        if (name.starts_with(fmt::format("blocks.{}.", i))) return true;
    return false;
}

}  // namespace

HostSgd::HostSgd(Session& session, const GptConfig& cfg, int64_t rows, int64_t seq, int64_t freeze_blocks,
                 double momentum, double clip, const io::TensorMap& start)
    : rows_(rows), seq_(seq), momentum_(momentum), clip_(clip), current_(start) {
    m_.graph = std::make_unique<Graph>();
    m_.params = std::make_unique<ParamSet>(*m_.graph);
    Graph& g = *m_.graph;
    Tensor loss = gpt_loss(*m_.params, cfg, input(g, "ids", {rows, seq}, DType::i32),
                           input(g, "targets", {rows, seq}, DType::i32));
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : m_.params->specs())
        if (!in_frozen_block(p.name, freeze_blocks)) {
            names_.push_back(p.name);
            wrt.push_back(p.node);
        }
    std::vector<NodeId> grads = gradients(g, loss.id(), wrt);
    for (size_t i = 0; i < grads.size(); ++i) g.set_output("grad:" + names_[i], grads[i]);
    exe_ = compile_executable(session, g);
    for (const std::string& n : names_) w_[n] = start.at(n).to_doubles();
    reset_momentum();
}

void HostSgd::reset_momentum() {
    for (const std::string& n : names_) buf_[n].assign(w_[n].size(), 0.0);
}

void HostSgd::step(std::span<const uint16_t> stream, int64_t first_token, double lr) {
    HostTensor ids(DType::i32, {rows_, seq_}), targets(DType::i32, {rows_, seq_});
    for (int64_t i = 0; i < rows_ * seq_; ++i) {
        ids.set(i, stream[static_cast<size_t>(first_token + i)]);
        targets.set(i, stream[static_cast<size_t>(first_token + i + 1)]);
    }
    for (const auto& [n, t] : current_)
        if (exe_->has_leaf(n)) exe_->set(n, t);
    exe_->set("ids", ids);
    exe_->set("targets", targets);
    exe_->run();
    std::map<std::string, std::vector<double>> g;
    double norm2 = 0;
    for (const std::string& n : names_) {
        g[n] = exe_->get("grad:" + n).to_doubles();
        for (double x : g[n]) norm2 += x * x;
    }
    const double scale = clip_ > 0 ? std::min(1.0, clip_ / (std::sqrt(norm2) + 1e-6)) : 1.0;
    for (const std::string& n : names_) {
        for (size_t i = 0; i < w_[n].size(); ++i) {
            buf_[n][i] = momentum_ * buf_[n][i] + g[n][i] * scale;
            w_[n][i] -= lr * buf_[n][i];
        }
        current_[n] = HostTensor::from_doubles(DType::f32, current_.at(n).shape, w_[n]);
    }
}

}  // namespace pg::reference
