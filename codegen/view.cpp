// Strided view analysis (see view.h).
#include "codegen/view.h"

#include <algorithm>

#include "base/error.h"

namespace pg {

bool is_view_op(Op op) {
    return op == Op::Reshape || op == Op::Permute || op == Op::Broadcast || op == Op::Slice;
}

NodeId view_base(const Graph& g, NodeId n) {
    while (is_view_op(g[n].op)) n = g[n].inputs[0];
    return n;
}

bool matrix_layout(const StridedView& v, bool& trans, int64_t& ld) {
    size_t r = v.shape.size();
    int64_t rows = v.shape[r - 2], cols = v.shape[r - 1];
    int64_t sr = v.strides[r - 2], sc = v.strides[r - 1];
    if ((sc == 1 || cols == 1) && (rows == 1 || sr >= std::max<int64_t>(cols, 1))) {
        trans = false;
        ld = rows == 1 ? std::max<int64_t>(cols, 1) : sr;
        return true;
    }
    if ((sr == 1 || rows == 1) && (cols == 1 || sc >= std::max<int64_t>(rows, 1))) {
        trans = true;
        ld = cols == 1 ? std::max<int64_t>(rows, 1) : sc;
        return true;
    }
    return false;
}

namespace {

// Reshape of a strided view: walk both shapes in blocks of equal element count; within a block the
// source dims must be mutually contiguous (stride[i] == stride[i+1] * shape[i+1]).
std::optional<StridedView> reshape_view(const StridedView& v, const Shape& out) {
    // Size-1 source dims constrain nothing: drop them first.
    std::vector<int64_t> ss, st;
    for (size_t k = 0; k < v.shape.size(); ++k)
        if (v.shape[k] != 1) {
            ss.push_back(v.shape[k]);
            st.push_back(v.strides[k]);
        }
    StridedView r{v.base, out, std::vector<int64_t>(out.size(), 0), v.offset};
    size_t i = 0, j = 0;
    while (j < out.size()) {
        if (out[j] == 1) {
            ++j;
            continue;
        }
        if (i >= ss.size()) return std::nullopt;
        size_t i0 = i, j0 = j;
        int64_t pi = ss[i++], pj = out[j++];
        while (pi != pj) {
            if (pi < pj) {
                if (i >= ss.size()) return std::nullopt;
                pi *= ss[i++];
            } else {
                if (j >= out.size()) return std::nullopt;
                pj *= out[j++];
            }
        }
        for (size_t k = i0; k + 1 < i; ++k)
            if (st[k] != st[k + 1] * ss[k + 1]) return std::nullopt;
        int64_t unit = st[i - 1];
        for (size_t k = j; k-- > j0;) {
            r.strides[k] = unit;
            unit *= out[k];
        }
    }
    if (i != ss.size()) return std::nullopt;
    return r;
}

}  // namespace

std::optional<StridedView> as_strided_view(const Graph& g, NodeId n, const std::vector<bool>* materialized) {
    const Node& node = g[n];
    if (!is_view_op(node.op)) return StridedView{n, node.shape, contiguous_strides(node.shape), 0};
    const NodeId below = node.inputs[0];
    auto in = materialized && (*materialized)[below]
                  ? std::optional<StridedView>(StridedView{below, g[below].shape, contiguous_strides(g[below].shape), 0})
                  : as_strided_view(g, below, materialized);
    if (!in) return std::nullopt;
    switch (node.op) {
        case Op::Reshape: return reshape_view(*in, node.shape);
        case Op::Permute: {
            StridedView r{in->base, node.shape, std::vector<int64_t>(node.shape.size()), in->offset};
            for (size_t i = 0; i < node.ints.size(); ++i) r.strides[i] = in->strides[node.ints[i]];
            return r;
        }
        case Op::Broadcast: {
            StridedView r{in->base, node.shape, in->strides, in->offset};
            for (size_t i = 0; i < node.shape.size(); ++i)
                if (in->shape[i] == 1 && node.shape[i] != 1) r.strides[i] = 0;
            return r;
        }
        case Op::Slice: {
            size_t rank = node.shape.size();
            StridedView r{in->base, node.shape, in->strides, in->offset};
            for (size_t i = 0; i < rank; ++i) {
                r.offset += node.ints[i] * in->strides[i];
                r.strides[i] = in->strides[i] * node.ints[rank + i];
            }
            return r;
        }
        default: PG_UNREACHABLE();
    }
}

}  // namespace pg
