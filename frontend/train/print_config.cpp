// Resolved configuration (see print_config.h).
#include "frontend/train/print_config.h"

#include <fmt/format.h>

#include "base/env.h"
#include "frontend/models/layer_plan.h"
#include "frontend/train/step_graphs.h"

namespace pg {

int64_t model_param_count(const GptConfig& cfg, int64_t seq_len) {
    return build_eval_graph(cfg, 1, seq_len).params->count();
}

std::string resolved_config(const Hyperparams& h) {
    std::string out;
    const std::string preset = env::get("PRESET");
    out += fmt::format("# resolved configuration{}\n", preset.empty() ? "" : " of preset " + preset);
    for (const auto& [name, value] : run_settings()) {
        const std::string src = env::source(name);
        out += fmt::format("{:<28} = {:<36} ({})\n", name, value.empty() ? "''" : value, src);
    }
    const LayerPlan plan = plan_layers(h.model);
    out += fmt::format("model_params: {} (MODEL={}, {} physical / {} virtual layers)\n",
                       model_param_count(h.model, h.train_seq_len), h.model.model, h.model.num_layers,
                       plan.order.size());
    return out;
}

std::string parameter_table(const Hyperparams& h) {
    ModelGraph m = build_eval_graph(h.model, 1, h.train_seq_len);
    std::string out;
    for (const ParamSpec& p : m.params->specs())
        out += fmt::format("{:<36} {:<14} {:<5} {}\n", p.name, shape_str(p.shape), dtype_name(p.dtype), p.group);
    return out + fmt::format("total: {} parameters in {} tensors\n", m.params->count(), m.params->specs().size());
}

}  // namespace pg
