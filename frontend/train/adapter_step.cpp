// The adapter training step (see adapter_step.h).
#include "frontend/train/adapter_step.h"

#include "base/error.h"
#include "frontend/models/gpt.h"
#include "graph/autodiff.h"
#include "runtime/executable.h"

namespace pg {

ModelGraph build_adapter_step(const GptConfig& model, int64_t rows, int64_t seq_len, const nn::LinearAdapter& adapter,
                              const AdamConfig& adam) {
    auto [m, ids, targets] = window_step(rows, seq_len);
    Graph& g = *m.graph;
    Tensor weights = input(g, "loss_weights", {rows * seq_len}, DType::f32);
    Tensor losses;
    {
        nn::ScopedLinearAdapter scope(adapter);
        losses = gpt_token_losses(*m.params, model, ids, targets);
    }
    g.set_output("losses", losses.id());
    Tensor loss = (losses * weights).sum_all();
    std::vector<std::string> names;
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : m.params->specs())
        if (p.group == kAdapterGroup) {
            names.push_back(p.name);
            wrt.push_back(p.node);
        }
    PG_ASSERT(!names.empty(), "the adapter declared no parameter");
    std::vector<Tensor> grads;
    for (NodeId id : gradients(g, loss.id(), wrt)) grads.emplace_back(&g, id);
    adam_update(*m.params, names, grads, "adapter_lr", adam);
    return std::move(m);  // a structured binding is not moved implicitly
}

void set_model_weights(Executable& exe, const ParamSet& params, const io::TensorMap& weights) {
    for (const ParamSpec& p : params.specs()) {
        if (p.group == kAdapterGroup || p.group == "state" || !exe.has_leaf(p.name)) continue;
        auto it = weights.find(p.name);
        PG_CHECK(it != weights.end(), "the weights lack '{}' ({} {})", p.name, dtype_name(p.dtype), shape_str(p.shape));
        exe.set(p.name, it->second.to(p.dtype));
    }
}

}  // namespace pg
