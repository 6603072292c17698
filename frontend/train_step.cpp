// Training-step graph construction (see train_step.h).
#include "frontend/train_step.h"

#include "graph/autodiff.h"

namespace pg {

TrainStepGraph build_gpt_adam_step(const GptConfig& cfg, int64_t batch, int64_t seq_len, const AdamConfig& adam) {
    TrainStepGraph s;
    s.graph = std::make_unique<Graph>();
    s.params = std::make_unique<ParamSet>(*s.graph);
    Graph& g = *s.graph;
    Tensor ids = input(g, "ids", {batch, seq_len}, DType::i64);
    Tensor targets = input(g, "targets", {batch, seq_len}, DType::i64);
    Tensor loss = gpt_loss(*s.params, cfg, ids, targets);
    g.set_output("loss", loss.id());
    std::vector<ParamSpec> model_params = s.params->specs();
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : model_params) wrt.push_back(p.node);
    std::vector<NodeId> grads = gradients(g, loss.id(), wrt);
    for (const char* group : {"embed", "matrix", "scalar"}) {
        std::vector<std::string> names;
        std::vector<Tensor> gs;
        for (size_t i = 0; i < model_params.size(); ++i)
            if (model_params[i].group == group) {
                names.push_back(model_params[i].name);
                gs.emplace_back(&g, grads[i]);
            }
        if (!names.empty()) adam_update(*s.params, names, gs, std::string("lr.") + group, adam);
    }
    return s;
}

}  // namespace pg
