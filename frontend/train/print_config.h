// `pgolf train --print-config`: the resolved configuration (every training setting with its value
// and where it came from: flag, environment, preset or default) and the model's parameter count.
#pragma once
#include <string>

#include "frontend/train/hyperparams.h"

namespace pg {

// Parameters of the model `cfg` builds (the weights, not optimizer state).
int64_t model_param_count(const GptConfig& cfg, int64_t seq_len);

// The text printed by --print-config.
std::string resolved_config(const Hyperparams& h);

// The text printed by --print-params: each weight's state_dict name, shape, dtype and optimizer group.
std::string parameter_table(const Hyperparams& h);

}  // namespace pg
