// Adam as graph updates (bias-corrected, as torch.optim.Adam; with weight_decay > 0 AdamW's
// decoupled decay p <- p·(1 − lr·wd) before the step, as torch.optim.AdamW): the moments are
// optimizer-state params "<name>.exp_avg" / "<name>.exp_avg_sq"; the learning rate and the 1-based
// step count are runtime scalars, so schedules never recompile.
#pragma once
#include <string>
#include <vector>

#include "frontend/module.h"

namespace pg {

struct AdamConfig {
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    double weight_decay = 0;  // ADAM_WD / EMBED_WD
};

// Adds the state updates of Adam for params `names` with gradients `grads`, learning rate read
// from the runtime scalar `lr_scalar` and the step from the runtime scalar "step".
void adam_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                 const std::string& lr_scalar, const AdamConfig& cfg);

}  // namespace pg
