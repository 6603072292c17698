// Loading model weights into a compiled model graph: the one copy the evaluator, the GPTQ
// calibrator and the calibration sampler share.
#pragma once
#include <map>
#include <string>

#include "frontend/train/step_graphs.h"
#include "graph/tensor_data.h"
#include "runtime/executable.h"

namespace pg {

// Copies `weights` into the parameters of `m` that `exe` (compiled from m.graph) reads, cast to
// their dtypes; a parameter missing from `weights` is a pg::Error naming it.
void set_model_weights(Executable& exe, const ModelGraph& m, const std::map<std::string, HostTensor>& weights);

}  // namespace pg
