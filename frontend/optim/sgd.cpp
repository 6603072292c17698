// SGD with momentum update graph (see sgd.h).
#include "frontend/optim/sgd.h"

#include "base/error.h"

namespace pg {

void sgd_momentum_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                         const std::string& lr_scalar, double momentum) {
    PG_ASSERT(names.size() == grads.size());
    Graph& g = ps.graph();
    Tensor lr = runtime_scalar(g, lr_scalar);
    for (size_t i = 0; i < names.size(); ++i) {
        Tensor p = ps.get(names[i]);
        Tensor buf = ps.add(names[i] + ".momentum_buffer", p.shape(), Init::zeros(), "state");
        Tensor buf_new = momentum * buf + grads[i].cast(DType::f32);
        g.add_update(buf.id(), buf_new.id());
        g.add_update(p.id(), (p.cast(DType::f32) - lr * buf_new).cast(p.dtype()).id());
    }
}

}  // namespace pg
