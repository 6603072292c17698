// Tensor operators (see tensor.h): thin wrappers over graph/build.h.
#include "frontend/tensor.h"

#include "base/error.h"

namespace pg {

namespace b = build;

int64_t Tensor::dim(int64_t axis) const {
    int64_t r = static_cast<int64_t>(shape().size());
    PG_CHECK(axis >= -r && axis < r, "axis {} out of range for shape {}", axis, shape_str(shape()));
    return shape()[axis < 0 ? axis + r : axis];
}

Tensor Tensor::reshape(const Shape& s) const { return {g_, b::reshape(*g_, id_, s)}; }
Tensor Tensor::permute(const std::vector<int64_t>& p) const { return {g_, b::permute(*g_, id_, p)}; }
Tensor Tensor::transpose(int64_t x, int64_t y) const { return {g_, b::transpose(*g_, id_, x, y)}; }
Tensor Tensor::broadcast_to(const Shape& s) const { return {g_, b::broadcast_to(*g_, id_, s)}; }
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
    return {g_, b::slice(*g_, id_, axis, start, end, step)};
}
Tensor Tensor::cast(DType t) const { return {g_, b::cast(*g_, id_, t)}; }
Tensor Tensor::sum(std::vector<int64_t> axes) const { return {g_, b::sum(*g_, id_, std::move(axes))}; }
Tensor Tensor::mean(std::vector<int64_t> axes) const { return {g_, b::mean(*g_, id_, std::move(axes))}; }
Tensor Tensor::max(std::vector<int64_t> axes) const { return {g_, b::reduce_max(*g_, id_, std::move(axes))}; }

Tensor Tensor::sum_all() const {
    std::vector<int64_t> axes;
    for (size_t i = 0; i < shape().size(); ++i) axes.push_back(static_cast<int64_t>(i));
    return sum(axes).reshape({});
}

Tensor Tensor::mean_all() const { return sum_all() * (1.0 / static_cast<double>(numel(shape()))); }

Tensor Tensor::exp() const { return {g_, b::unary(*g_, Op::Exp, id_)}; }
Tensor Tensor::log() const { return {g_, b::unary(*g_, Op::Log, id_)}; }
Tensor Tensor::tanh() const { return {g_, b::unary(*g_, Op::Tanh, id_)}; }
Tensor Tensor::sigmoid() const { return {g_, b::unary(*g_, Op::Sigmoid, id_)}; }
Tensor Tensor::sqrt() const { return {g_, b::unary(*g_, Op::Sqrt, id_)}; }
Tensor Tensor::rsqrt() const { return {g_, b::unary(*g_, Op::Rsqrt, id_)}; }
Tensor Tensor::relu() const { return {g_, b::unary(*g_, Op::Relu, id_)}; }
Tensor Tensor::abs() const { return {g_, b::unary(*g_, Op::Abs, id_)}; }
Tensor Tensor::square() const { return *this * *this; }

namespace {
Graph& same_graph(const Tensor& a, const Tensor& c) {
    PG_CHECK(&a.graph() == &c.graph(), "tensors from different graphs cannot be combined");
    return a.graph();
}
}  // namespace

Tensor operator+(const Tensor& a, const Tensor& c) { return {&same_graph(a, c), b::add(a.graph(), a.id(), c.id())}; }
Tensor operator-(const Tensor& a, const Tensor& c) { return {&same_graph(a, c), b::sub(a.graph(), a.id(), c.id())}; }
Tensor operator*(const Tensor& a, const Tensor& c) { return {&same_graph(a, c), b::mul(a.graph(), a.id(), c.id())}; }
Tensor operator/(const Tensor& a, const Tensor& c) { return {&same_graph(a, c), b::div(a.graph(), a.id(), c.id())}; }

namespace {
Tensor scalar_like(const Tensor& a, double v) { return {&a.graph(), b::constant(a.graph(), v, {}, a.dtype())}; }
}  // namespace

Tensor operator+(const Tensor& a, double v) { return a + scalar_like(a, v); }
Tensor operator-(const Tensor& a, double v) { return a - scalar_like(a, v); }
Tensor operator*(const Tensor& a, double v) { return a * scalar_like(a, v); }
Tensor operator/(const Tensor& a, double v) { return a * scalar_like(a, 1.0 / v); }
Tensor operator+(double v, const Tensor& a) { return scalar_like(a, v) + a; }
Tensor operator-(double v, const Tensor& a) { return scalar_like(a, v) - a; }
Tensor operator*(double v, const Tensor& a) { return scalar_like(a, v) * a; }
Tensor operator-(const Tensor& a) { return {&a.graph(), b::unary(a.graph(), Op::Neg, a.id())}; }
Tensor maximum(const Tensor& a, const Tensor& c) {
    return {&same_graph(a, c), b::binary(a.graph(), Op::Max, a.id(), c.id())};
}
Tensor pow(const Tensor& a, double e) {
    return {&a.graph(), b::binary(a.graph(), Op::Pow, a.id(), scalar_like(a, e).id())};
}

Tensor matmul(const Tensor& a, const Tensor& c) { return {&same_graph(a, c), b::matmul(a.graph(), a.id(), c.id())}; }
Tensor gather(const Tensor& t, const Tensor& i) { return {&same_graph(t, i), b::gather(t.graph(), t.id(), i.id())}; }
Tensor softmax(const Tensor& x) { return {&x.graph(), b::softmax(x.graph(), x.id())}; }
Tensor log_softmax(const Tensor& x) { return {&x.graph(), b::log_softmax(x.graph(), x.id())}; }
Tensor cross_entropy(const Tensor& l, const Tensor& t, double softcap) {
    return {&same_graph(l, t), b::cross_entropy(l.graph(), l.id(), t.id(), softcap)};
}
Tensor linear_cross_entropy(const Tensor& x, const Tensor& w, const Tensor& targets, double softcap) {
    Graph& g = same_graph(x, w);
    same_graph(x, targets);
    NodeId stats = b::linear_cross_entropy(g, x.id(), w.id(), targets.id(), softcap);
    return {&g, b::reshape(g, b::slice(g, stats, 1, 0, 1), {x.dim(0)})};
}
Tensor rms_norm(const Tensor& x, double eps) { return {&x.graph(), b::rms_norm(x.graph(), x.id(), eps)}; }
Tensor rope(const Tensor& x, int64_t dims, double base) { return {&x.graph(), b::rope(x.graph(), x.id(), dims, base)}; }
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& doc_start) {
    same_graph(q, k);
    same_graph(q, v);
    if (doc_start.defined()) same_graph(q, doc_start);
    NodeId docs = doc_start.defined() ? doc_start.id() : kNoNode;
    return {&q.graph(), b::attention(q.graph(), q.id(), k.id(), v.id(), scale, docs)};
}

Tensor input(Graph& g, const std::string& name, const Shape& shape, DType dtype) {
    return {&g, b::input(g, name, shape, dtype)};
}
Tensor runtime_scalar(Graph& g, const std::string& name) { return {&g, b::scalar(g, name)}; }

}  // namespace pg
