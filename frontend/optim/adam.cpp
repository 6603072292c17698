// Adam update graph (see adam.h).
#include "frontend/optim/adam.h"

#include "base/error.h"

namespace pg {

void adam_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                 const std::string& lr_scalar, const AdamConfig& cfg) {
    PG_ASSERT(names.size() == grads.size());
    Graph& g = ps.graph();
    Tensor lr = runtime_scalar(g, lr_scalar);
    Tensor step = runtime_scalar(g, "step");
    // Bias corrections 1 - beta^t, folded into one step size and one eps scale per group.
    Tensor bc1 = 1.0 - Tensor(&g, build::binary(g, Op::Pow, build::constant(g, cfg.beta1, {}), step.id()));
    Tensor bc2 = 1.0 - Tensor(&g, build::binary(g, Op::Pow, build::constant(g, cfg.beta2, {}), step.id()));
    Tensor step_size = lr / bc1;
    Tensor bc2_sqrt = bc2.sqrt();
    for (size_t i = 0; i < names.size(); ++i) {
        Tensor p = ps.get(names[i]);
        Tensor gr = grads[i].cast(DType::f32);
        Tensor m = ps.add(names[i] + ".exp_avg", p.shape(), Init::zeros(), "state");
        Tensor v = ps.add(names[i] + ".exp_avg_sq", p.shape(), Init::zeros(), "state");
        Tensor m_new = cfg.beta1 * m + (1.0 - cfg.beta1) * gr;
        Tensor v_new = cfg.beta2 * v + (1.0 - cfg.beta2) * gr.square();
        Tensor denom = v_new.sqrt() / bc2_sqrt + cfg.eps;
        Tensor pf = p.cast(DType::f32);
        if (cfg.weight_decay != 0) pf = pf * (1.0 - lr * cfg.weight_decay);
        Tensor p_new = (pf - step_size * m_new / denom).cast(p.dtype());
        g.add_update(m.id(), m_new.id());
        g.add_update(v.id(), v_new.id());
        g.add_update(p.id(), p_new.id());
    }
}

}  // namespace pg
