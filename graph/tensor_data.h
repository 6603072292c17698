// HostTensor: a dense row-major host array of one dtype, the currency between the interpreter,
// the executors and tests.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/dtype.h"
#include "graph/shape.h"

namespace pg {

struct HostTensor {
    DType dtype = DType::f32;
    Shape shape;
    std::vector<uint8_t> bytes;

    HostTensor() = default;
    HostTensor(DType t, Shape s) : dtype(t), shape(std::move(s)), bytes(static_cast<size_t>(pg::numel(shape)) * dtype_size(t)) {}

    int64_t numel() const { return pg::numel(shape); }
    void* data() { return bytes.data(); }
    const void* data() const { return bytes.data(); }
    double get(int64_t i) const { return load_as_double(bytes.data() + i * dtype_size(dtype), dtype); }
    void set(int64_t i, double v) { store_from_double(bytes.data() + i * dtype_size(dtype), dtype, v); }

    // The same values converted to dtype t (rounded as round_to_dtype does).
    HostTensor to(DType t) const;

    static HostTensor from_doubles(DType t, Shape s, const std::vector<double>& values);
    std::vector<double> to_doubles() const;
};

// max_i |a_i - b_i| / max(max_i |b_i|, tiny): the normwise relative error used by every numeric
// test (elementwise relative error is meaningless where the reference crosses zero).
double max_rel_error(const HostTensor& a, const HostTensor& b);

}  // namespace pg
