// HostTensor helpers (see tensor_data.h).
#include "graph/tensor_data.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace pg {

HostTensor HostTensor::from_doubles(DType t, Shape s, const std::vector<double>& values) {
    HostTensor h(t, std::move(s));
    PG_ASSERT(static_cast<int64_t>(values.size()) == h.numel(), "{} values for shape {}", values.size(),
              shape_str(h.shape));
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, values[i]);
    return h;
}

HostTensor HostTensor::to(DType t) const {
    if (t == dtype) return *this;
    HostTensor out(t, shape);
    for (int64_t i = 0; i < numel(); ++i) out.set(i, get(i));
    return out;
}

std::vector<double> HostTensor::to_doubles() const {
    std::vector<double> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
}

double max_rel_error(const HostTensor& a, const HostTensor& b) {
    PG_ASSERT(a.shape == b.shape, "comparing {} with {}", shape_str(a.shape), shape_str(b.shape));
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        double x = a.get(i), y = b.get(i);
        if (std::isnan(x) != std::isnan(y)) return INFINITY;
        if (std::isnan(x)) continue;
        if (std::isinf(x) || std::isinf(y)) {
            if (x != y) return INFINITY;
            continue;
        }
        diff = std::max(diff, std::fabs(x - y));
        scale = std::max(scale, std::fabs(y));
    }
    return diff / std::max(scale, 1e-30);
}

}  // namespace pg
