// Muon update graph (see muon.h).
#include "frontend/optim/muon.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace pg {

Tensor newton_schulz(const Tensor& g, int steps, DType dtype, const std::vector<NsTriple>& coefficients) {
    PG_CHECK(g.shape().size() == 2, "Newton–Schulz needs a matrix, got shape {}", shape_str(g.shape()));
    // As the baseline: cast first, then divide by the (dtype-rounded) Frobenius norm + eps.
    Tensor x = g.cast(dtype);
    Tensor norm = x.cast(DType::f32).square().sum_all().sqrt().cast(dtype) + 1e-7;
    x = x / norm;
    bool transposed = g.dim(0) > g.dim(1);
    if (transposed) x = x.transpose(0, 1);
    for (int i = 0; i < steps; ++i) {
        const auto [a, b, c] = ns_triple(coefficients, i);
        Tensor A = matmul(x, x.transpose(0, 1));
        Tensor B = b * A + c * matmul(A, A);
        x = a * x + matmul(B, x);
    }
    if (transposed) x = x.transpose(0, 1);
    return x.cast(DType::f32);
}

std::string muon_momentum_name(const std::string& param) { return param + ".momentum_buffer"; }

namespace {

// MuonEq-R: u_r / max(‖u_r‖, 1e-7) for every row r.
Tensor normalize_rows(const Tensor& u) {
    Tensor norm = u.square().sum({1}).sqrt().reshape({u.dim(0), 1});
    return u / maximum(norm, Tensor(&u.graph(), build::constant(u.graph(), 1e-7, {}, u.dtype())));
}

}  // namespace

Tensor muon_orthogonalize(const Tensor& u, const MuonConfig& cfg) {
    return newton_schulz(cfg.row_normalize ? normalize_rows(u) : u, cfg.backend_steps, cfg.ns_dtype, cfg.coefficients);
}

void muon_apply(ParamSet& ps, const std::string& name, const Tensor& o, const Tensor& lr, const MuonConfig& cfg) {
    Tensor p = ps.get(name);
    double scale = std::sqrt(std::max(1.0, static_cast<double>(p.dim(0)) / static_cast<double>(p.dim(1))));
    Tensor pf = p.cast(DType::f32);
    if (cfg.weight_decay != 0) pf = pf * (1.0 - lr * cfg.weight_decay);
    ps.graph().add_update(p.id(), (pf - (lr * scale) * o).cast(p.dtype()).id());
}

void muon_update(ParamSet& ps, const std::vector<std::string>& names, const std::vector<Tensor>& grads,
                 const std::string& lr_scalar, const MuonConfig& cfg) {
    PG_ASSERT(names.size() == grads.size());
    Graph& g = ps.graph();
    Tensor lr = runtime_scalar(g, lr_scalar);
    Tensor mu = runtime_scalar(g, "muon_momentum");
    for (size_t i = 0; i < names.size(); ++i) {
        Tensor p = ps.get(names[i]);
        PG_CHECK(p.shape().size() == 2, "Muon param '{}' must be a matrix, got {}", names[i], shape_str(p.shape()));
        Tensor gr = grads[i].cast(DType::f32);
        Tensor buf = ps.add(muon_momentum_name(names[i]), p.shape(), Init::zeros(), "state");
        Tensor buf_new = mu * buf + gr;
        g.add_update(buf.id(), buf_new.id());
        muon_apply(ps, names[i], muon_orthogonalize(gr + mu * buf_new, cfg), lr, cfg);  // Nesterov
    }
}

}  // namespace pg
