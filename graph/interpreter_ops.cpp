// fp64 semantics of every primitive op for the reference interpreter (see interpreter_ops.h).
// Everything here is written for clarity, not speed: it is the executable spec that every
// backend is tested against. Integer values travel as doubles, exact up to 2^53.
#include "graph/interpreter_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"

namespace pg::interp {
namespace {

// Visits every multi-index of `shape` in row-major order, calling f(linear, offset) where offset
// = base + sum_i idx[i] * strides[i], maintained incrementally.
template <class F>
void walk(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, F&& f) {
    int64_t total = numel(shape);
    std::vector<int64_t> idx(shape.size(), 0);
    int64_t off = base;
    for (int64_t lin = 0; lin < total; ++lin) {
        f(lin, off);
        for (size_t d = shape.size(); d-- > 0;) {
            if (++idx[d] < shape[d]) {
                off += strides[d];
                break;
            }
            off -= strides[d] * (shape[d] - 1);
            idx[d] = 0;
        }
    }
}

int64_t tail_numel(const Shape& s, size_t from) {
    return numel(Shape(s.begin() + static_cast<long>(from), s.end()));
}

// Max and min propagate NaN (as torch.maximum/minimum do) so that a NaN is never hidden.
double max_nan(double a, double b) {
    return std::isnan(a) || a > b ? a : b;
}
double min_nan(double a, double b) {
    return std::isnan(a) || a < b ? a : b;
}

double apply_unary(Op op, double x) {
    switch (op) {
        case Op::Neg:
            return -x;
        case Op::Exp:
            return std::exp(x);
        case Op::Log:
            return std::log(x);
        case Op::Tanh:
            return std::tanh(x);
        case Op::Sigmoid:
            return 1.0 / (1.0 + std::exp(-x));
        case Op::Sqrt:
            return std::sqrt(x);
        case Op::Rsqrt:
            return 1.0 / std::sqrt(x);
        case Op::Abs:
            return std::fabs(x);
        case Op::Relu:
            return max_nan(x, 0.0);
        case Op::Sin:
            return std::sin(x);
        case Op::Cos:
            return std::cos(x);
        case Op::Recip:
            return 1.0 / x;
        case Op::Not:
            return x == 0.0 ? 1.0 : 0.0;
        case Op::Cast:
            return x;  // the caller rounds to the target dtype
        default:
            PG_UNREACHABLE("{} is not unary", op_name(op));
    }
}

double apply_binary(Op op, double a, double b) {
    switch (op) {
        case Op::Add:
            return a + b;
        case Op::Sub:
            return a - b;
        case Op::Mul:
            return a * b;
        case Op::Div:
            return a / b;  // integer operands: truncated toward zero by the final rounding
        case Op::Max:
            return max_nan(a, b);
        case Op::Min:
            return min_nan(a, b);
        case Op::Pow:
            return std::pow(a, b);
        case Op::Lt:
            return a < b;
        case Op::Le:
            return a <= b;
        case Op::Gt:
            return a > b;
        case Op::Ge:
            return a >= b;
        case Op::Eq:
            return a == b;
        case Op::Ne:
            return a != b;
        case Op::And:
            return a != 0.0 && b != 0.0;
        case Op::Or:
            return a != 0.0 || b != 0.0;
        default:
            PG_UNREACHABLE("{} is not binary", op_name(op));
    }
}

Values elementwise(const Node& n, const std::vector<Operand>& in) {
    Values r(static_cast<size_t>(numel(n.shape)));
    const Values& a = *in[0].values;
    switch (op_kind(n.op)) {
        case OpKind::Unary:
            for (size_t i = 0; i < r.size(); ++i) r[i] = apply_unary(n.op, a[i]);
            break;
        case OpKind::Binary: {
            const Values& b = *in[1].values;
            bool int_div = n.op == Op::Div && is_int(n.dtype);
            for (size_t i = 0; i < r.size(); ++i) {
                PG_CHECK(!int_div || b[i] != 0.0,
                         "div: integer division by zero at element {} of {} {}", i,
                         dtype_name(n.dtype), shape_str(n.shape));
                r[i] = apply_binary(n.op, a[i], b[i]);
            }
            break;
        }
        case OpKind::Ternary: {
            const Values& b = *in[1].values;
            const Values& c = *in[2].values;
            for (size_t i = 0; i < r.size(); ++i) r[i] = a[i] != 0.0 ? b[i] : c[i];
            break;
        }
        default:
            PG_UNREACHABLE();
    }
    return r;
}

Values reduce(const Node& n, const Operand& a) {
    const Shape& s = a.node->shape;
    std::vector<int64_t> ostr = contiguous_strides(n.shape);
    for (int64_t ax : n.ints) ostr[ax] = 0;
    bool is_sum = n.op == Op::Sum;
    int64_t count = 1;
    for (int64_t ax : n.ints) count *= s[ax];
    PG_CHECK(is_sum || count > 0 || is_float(n.dtype) || numel(n.shape) == 0,
             "reduce_max over an empty axis of {} {} has no value", dtype_name(a.node->dtype),
             shape_str(s));
    Values r(static_cast<size_t>(numel(n.shape)),
             is_sum ? 0.0 : -std::numeric_limits<double>::infinity());
    const Values& x = *a.values;
    walk(s, ostr, 0, [&](int64_t lin, int64_t off) {
        if (is_sum)
            r[off] += x[lin];
        else
            r[off] = max_nan(r[off], x[lin]);
    });
    return r;
}

Values movement(const Node& n, const std::vector<Operand>& in) {
    const Shape& s = in[0].node->shape;
    const Values& x = *in[0].values;
    size_t rank = s.size();
    std::vector<int64_t> istr = contiguous_strides(s);
    Values r(static_cast<size_t>(numel(n.shape)));
    auto copy_from = [&](int64_t lin, int64_t off) { r[lin] = x[off]; };
    switch (n.op) {
        case Op::Reshape:
            return x;
        case Op::Permute: {
            std::vector<int64_t> st(rank);
            for (size_t i = 0; i < rank; ++i) st[i] = istr[n.ints[i]];
            walk(n.shape, st, 0, copy_from);
            return r;
        }
        case Op::Broadcast: {
            std::vector<int64_t> st(rank);
            for (size_t i = 0; i < rank; ++i) st[i] = s[i] == 1 ? 0 : istr[i];
            walk(n.shape, st, 0, copy_from);
            return r;
        }
        case Op::Slice: {
            std::vector<int64_t> st(rank);
            int64_t base = 0;
            for (size_t i = 0; i < rank; ++i) {
                base += n.ints[i] * istr[i];
                st[i] = n.ints[rank + i] * istr[i];
            }
            walk(n.shape, st, base, copy_from);
            return r;
        }
        case Op::Pad: {
            std::fill(r.begin(), r.end(), n.scalar);
            std::vector<int64_t> ostr = contiguous_strides(n.shape);
            int64_t base = 0;
            for (size_t i = 0; i < rank; ++i) base += n.ints[i] * ostr[i];
            walk(s, ostr, base, [&](int64_t lin, int64_t off) { r[off] = x[lin]; });
            return r;
        }
        case Op::Concat: {
            std::vector<int64_t> ostr = contiguous_strides(n.shape);
            int64_t axis = n.ints[0];
            int64_t at = 0;
            for (const Operand& part : in) {
                const Values& px = *part.values;
                walk(part.node->shape, ostr, at * ostr[axis],
                     [&](int64_t lin, int64_t off) { r[off] = px[lin]; });
                at += part.node->shape[axis];
            }
            return r;
        }
        default:
            PG_UNREACHABLE("{} is not a movement op", op_name(n.op));
    }
}

int64_t checked_index(double v, int64_t rows, int64_t pos, const Node& n, const Node& index) {
    PG_CHECK(v >= 0 && v < static_cast<double>(rows),
             "{}: index {} at position {} of the index tensor {} {} is outside [0, {})",
             op_name(n.op), v, pos, dtype_name(index.dtype), shape_str(index.shape), rows);
    return static_cast<int64_t>(v);
}

Values gather(const Node& n, const Operand& table, const Operand& index) {
    int64_t rows = table.node->shape[0];
    int64_t row = tail_numel(table.node->shape, 1);
    const Values& t = *table.values;
    const Values& idx = *index.values;
    Values r(static_cast<size_t>(numel(n.shape)));
    for (size_t i = 0; i < idx.size(); ++i) {
        int64_t v = checked_index(idx[i], rows, static_cast<int64_t>(i), n, *index.node);
        std::copy_n(t.begin() + v * row, row, r.begin() + static_cast<int64_t>(i) * row);
    }
    return r;
}

Values scatter_add(const Node& n, const Operand& index, const Operand& src) {
    int64_t rows = n.shape[0];
    int64_t row = tail_numel(n.shape, 1);
    const Values& idx = *index.values;
    const Values& s = *src.values;
    Values r(static_cast<size_t>(numel(n.shape)), 0.0);
    for (size_t i = 0; i < idx.size(); ++i) {
        int64_t v = checked_index(idx[i], rows, static_cast<int64_t>(i), n, *index.node);
        for (int64_t j = 0; j < row; ++j) r[v * row + j] += s[static_cast<int64_t>(i) * row + j];
    }
    return r;
}

Values matmul(const Node& n, const Operand& a, const Operand& b) {
    const Shape& as = a.node->shape;
    size_t rank = as.size();
    int64_t m = as[rank - 2], k = as[rank - 1], nn = n.shape[rank - 1];
    int64_t batch = numel(Shape(as.begin(), as.end() - 2));
    const Values& x = *a.values;
    const Values& y = *b.values;
    Values r(static_cast<size_t>(batch * m * nn), 0.0);
    for (int64_t bt = 0; bt < batch; ++bt) {
        const double* xb = x.data() + bt * m * k;
        const double* yb = y.data() + bt * k * nn;
        double* rb = r.data() + bt * m * nn;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t p = 0; p < k; ++p) {
                double xv = xb[i * k + p];
                for (int64_t j = 0; j < nn; ++j) rb[i * nn + j] += xv * yb[p * nn + j];
            }
    }
    return r;
}

Values leaf(const Node& n) {
    Values r(static_cast<size_t>(numel(n.shape)));
    if (n.op == Op::Const) {
        std::fill(r.begin(), r.end(), n.scalar);
        return r;
    }
    PG_ASSERT(n.op == Op::Iota, "{} is a named leaf", op_name(n.op));
    std::vector<int64_t> st(n.shape.size(), 0);
    st[n.ints[0]] = 1;
    walk(n.shape, st, 0, [&](int64_t lin, int64_t off) { r[lin] = static_cast<double>(off); });
    return r;
}

}  // namespace

Values eval_primitive(const Node& n, const std::vector<Operand>& in) {
    switch (op_kind(n.op)) {
        case OpKind::Leaf:
            return leaf(n);
        case OpKind::Unary:
        case OpKind::Binary:
        case OpKind::Ternary:
            return elementwise(n, in);
        case OpKind::Reduce:
            return reduce(n, in[0]);
        case OpKind::Movement:
            return movement(n, in);
        case OpKind::Index:
            return n.op == Op::Gather ? gather(n, in[0], in[1]) : scatter_add(n, in[0], in[1]);
        case OpKind::Matmul:
            return matmul(n, in[0], in[1]);
        case OpKind::Composite:
            break;
    }
    PG_UNREACHABLE("{} is a composite op", op_name(n.op));
}

}  // namespace pg::interp
