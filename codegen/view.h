// Strided views: which movement-op chains (Reshape, Permute, Broadcast, Slice) over a materialised
// buffer are pure re-indexings that a library kernel (BLAS) can read in place, without a copy.
#pragma once
#include <optional>
#include <vector>

#include "graph/graph.h"

namespace pg {

struct StridedView {
    NodeId base = kNoNode;        // the materialised node whose buffer is read
    Shape shape;                  // the view's shape (= the viewed node's shape)
    std::vector<int64_t> strides; // element strides into base's contiguous buffer
    int64_t offset = 0;           // element offset
};

// The movement node chain below `n` down to the first node that is not a view op.
NodeId view_base(const Graph& g, NodeId n);

// `n` as a strided view of view_base(g, n), or nullopt where a reshape cannot be expressed with
// strides (e.g. merging dims that a permute made non-contiguous). With `materialized`, the chain
// stops at the first node below `n` that has a buffer of its own: a transpose of a materialised
// reshape of a permuted tensor is a view of the reshape even where it is none of the tensor.
std::optional<StridedView> as_strided_view(const Graph& g, NodeId n, const std::vector<bool>* materialized = nullptr);

bool is_view_op(Op op);

// Whether the last two dims of `v` form a matrix that BLAS reads in place: row-major (trans =
// false, ld = row stride) or column-major (trans = true, ld = column stride), with ld large
// enough for BLAS's contract (a broadcast row, stride 0, is not).
bool matrix_layout(const StridedView& v, bool& trans, int64_t& ld);

}  // namespace pg
