// SGD with momentum as torch.optim.SGD(momentum=mu) without dampening or Nesterov, the optimizer of
// the chunked test-time training of spec 2.5 method 2:
//     buf = mu * buf + g;   p = p - lr * buf
// (torch starts buf at g, which is the same as starting it at zero). buf lives in
// "<param>.momentum_buffer" (group "state", f32); lr is the runtime scalar `lr_scalar`.
#pragma once
#include <string>
#include <vector>

#include "frontend/module.h"

namespace pg {

void sgd_momentum_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                         const std::string& lr_scalar, double momentum);

}  // namespace pg
