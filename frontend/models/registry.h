// The model registry: MODEL=<name> (or its older name MODEL_FAMILY) picks the forward pass that
// the training step, the evaluator and the export build. Each family registers itself in its own
// file with PG_REGISTER_MODEL; all share GptConfig (a new family reads the fields it needs and
// may add a VariantConfig option).
#pragma once
#include <string>
#include <vector>

#include "frontend/models/gpt.h"

namespace pg {

// Declares every parameter in `ps` and returns the per-token losses [B*T] for ids/targets [B, T].
using TokenLossFn = Tensor (*)(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets);

struct ModelEntry {
    std::string name, doc;
    TokenLossFn token_losses = nullptr;
};

bool register_model(ModelEntry entry);
const ModelEntry& find_model(const std::string& name);  // pg::Error listing the registered names
std::vector<std::string> model_names();

// The registered model cfg.model names: per-token losses, and their mean (shape []).
Tensor model_token_losses(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets);
Tensor model_loss(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets);

}  // namespace pg

#define PG_MODEL_CONCAT2(a, b) a##b
#define PG_MODEL_CONCAT(a, b) PG_MODEL_CONCAT2(a, b)
#define PG_REGISTER_MODEL(...) \
    static const bool PG_MODEL_CONCAT(pg_model_, __LINE__) = ::pg::register_model(::pg::ModelEntry __VA_ARGS__)
