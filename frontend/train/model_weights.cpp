// Loading model weights into a compiled model graph (see model_weights.h).
#include "frontend/train/model_weights.h"

#include "base/error.h"

namespace pg {

void set_model_weights(Executable& exe, const ModelGraph& m, const std::map<std::string, HostTensor>& weights) {
    for (const ParamSpec& p : m.params->specs()) {
        auto it = weights.find(p.name);
        PG_CHECK(it != weights.end(), "the weights lack '{}' ({} {})", p.name, dtype_name(p.dtype), shape_str(p.shape));
        if (exe.has_leaf(p.name)) exe.set(p.name, it->second.to(p.dtype));
    }
}

}  // namespace pg
