// Model registry (see registry.h).
#include "frontend/models/registry.h"

#include <map>

#include "base/error.h"

namespace pg {
namespace {

std::map<std::string, ModelEntry>& entries() {
    static std::map<std::string, ModelEntry> m;
    return m;
}

}  // namespace

bool register_model(ModelEntry entry) {
    PG_ASSERT(entries().count(entry.name) == 0, "model '{}' registered twice", entry.name);
    std::string name = entry.name;
    entries().emplace(name, std::move(entry));
    return true;
}

std::vector<std::string> model_names() {
    std::vector<std::string> out;
    for (const auto& [name, e] : entries()) out.push_back(name);
    return out;
}

const ModelEntry& find_model(const std::string& name) {
    auto it = entries().find(name);
    if (it != entries().end()) return it->second;
    std::string known;
    for (const std::string& n : model_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(fmt::format("MODEL={} is not a registered model (registered: {})", name, known));
}

Tensor model_token_losses(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    return find_model(cfg.model).token_losses(ps, cfg, ids, targets);
}

Tensor model_loss(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    return model_token_losses(ps, cfg, ids, targets).mean_all();
}

}  // namespace pg
