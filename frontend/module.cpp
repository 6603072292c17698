// ParamSet (see module.h).
#include "frontend/module.h"

#include <random>

#include "base/error.h"
#include "frontend/nn/spectral_init.h"

namespace pg {
namespace {

// Orthogonal or Overtone values of the 2-D param s into t.
void fill_spectral(const ParamSpec& s, HostTensor& t, std::mt19937_64& rng) {
    PG_CHECK(s.shape.size() == 2, "orthogonal / Overtone init of '{}' needs a matrix", s.name);
    const int64_t rows = s.shape[0], cols = s.shape[1];
    std::vector<double> v;
    if (s.init.kind == Init::Kind::Orthogonal) {
        v = nn::orthogonal_matrix(rows, cols, s.init.a, rng);
    } else {
        std::normal_distribution<double> d(0.0, s.init.a);
        v.resize(static_cast<size_t>(rows * cols));
        for (double& x : v) x = d(rng);
        nn::overtone_spectrum(v, rows, cols);
    }
    for (int64_t i = 0; i < rows * cols; ++i) t.set(i, v[static_cast<size_t>(i)]);
}

}  // namespace

Tensor ParamSet::add(const std::string& name, const Shape& shape, Init init, const std::string& group, DType dtype) {
    for (const ParamSpec& s : specs_) PG_CHECK(s.name != name, "parameter '{}' is declared twice", name);
    NodeId id = build::param(*g_, name, shape, dtype);
    specs_.push_back({name, shape, dtype, std::move(init), group, id});
    return {g_, id};
}

Tensor ParamSet::use(const std::string& name, const Shape& shape, Init init, const std::string& group, DType dtype) {
    for (const ParamSpec& s : specs_)
        if (s.name == name) {
            PG_CHECK(s.shape == shape && s.dtype == dtype && s.group == group,
                     "parameter '{}' is used with two different shapes, dtypes or groups", name);
            return {g_, s.node};
        }
    return add(name, shape, std::move(init), group, dtype);
}

void ParamSet::set_init(const std::string& name, Init init) {
    for (ParamSpec& s : specs_)
        if (s.name == name) {
            s.init = std::move(init);
            return;
        }
    throw Error(fmt::format("no parameter named '{}'", name));
}

Tensor ParamSet::get(const std::string& name) const {
    for (const ParamSpec& s : specs_)
        if (s.name == name) return {g_, s.node};
    throw Error(fmt::format("no parameter named '{}'", name));
}

std::map<std::string, HostTensor> ParamSet::initialize(uint64_t seed) const {
    std::map<std::string, HostTensor> out;
    for (const ParamSpec& s : specs_) {
        HostTensor t(s.dtype, s.shape);
        std::seed_seq seq{seed, static_cast<uint64_t>(std::hash<std::string>()(s.name))};
        std::mt19937_64 rng(seq);
        const int64_t n = t.numel();
        switch (s.init.kind) {
            case Init::Kind::Zeros: break;
            case Init::Kind::Constant:
                for (int64_t i = 0; i < n; ++i) t.set(i, s.init.a);
                break;
            case Init::Kind::Normal: {
                std::normal_distribution<double> d(0.0, s.init.a);
                for (int64_t i = 0; i < n; ++i) t.set(i, d(rng));
                break;
            }
            case Init::Kind::Uniform: {
                std::uniform_real_distribution<double> d(-s.init.a, s.init.a);
                for (int64_t i = 0; i < n; ++i) t.set(i, d(rng));
                break;
            }
            case Init::Kind::Orthogonal:
            case Init::Kind::Overtone: fill_spectral(s, t, rng); break;
            case Init::Kind::RowPattern: {
                PG_ASSERT(!s.shape.empty() && static_cast<int64_t>(s.init.rows.size()) == s.shape[0]);
                int64_t row = n / s.shape[0];
                for (int64_t i = 0; i < n; ++i) t.set(i, s.init.rows[i / row]);
                break;
            }
        }
        out.emplace(s.name, std::move(t));
    }
    return out;
}

int64_t ParamSet::count(const std::string& group) const {
    int64_t c = 0;
    for (const ParamSpec& s : specs_)
        if (group.empty() ? s.group != "state" : s.group == group) c += numel(s.shape);
    return c;
}

}  // namespace pg
