// Workload keys (see workload.h).
#include "codegen/workload.h"

#include <fmt/format.h>

#include "codegen/cuda/cuda_renderer.h"

namespace pg {

bool is_transposed_view(const Graph& g, NodeId operand) {
    const Node& n = g[operand];
    const size_t r = n.ints.size();
    if (n.op != Op::Permute || r < 2) return false;
    for (size_t d = 0; d + 2 < r; ++d)
        if (n.ints[d] != static_cast<int64_t>(d)) return false;
    return n.ints[r - 2] == static_cast<int64_t>(r - 1) && n.ints[r - 1] == static_cast<int64_t>(r - 2);
}

std::string matmul_workload(const Graph& g, NodeId matmul) {
    const Node& n = g[matmul];
    return fmt::format("matmul {} {}x{} {}{}", dtype_name(n.dtype), shape_str(g[n.inputs[0]].shape),
                       shape_str(g[n.inputs[1]].shape), is_transposed_view(g, n.inputs[0]) ? 't' : 'n',
                       is_transposed_view(g, n.inputs[1]) ? 't' : 'n');
}

std::string gemm_workload(const gemm::GemmProblem& p) {
    std::string batch;
    for (size_t d = 0; d < p.batch_shape.size(); ++d)
        batch += fmt::format(" {}:{}/{}", p.batch_shape[d], p.a_batch_strides[d], p.b_batch_strides[d]);
    return fmt::format("gemm {} {}x{}x{} batch {} {}{} lda {} ldb {}{}", dtype_name(p.dtype), p.m, p.n, p.k, p.batch(),
                       p.trans_a ? 't' : 'n', p.trans_b ? 't' : 'n', p.lda, p.ldb, batch);
}

std::string loop_workload(const Graph& g, NodeId root, const kir::Kernel& k) {
    const Node& n = g[root];
    return fmt::format("loop {} {} {} kir {}", op_name(n.op), dtype_name(n.dtype), shape_str(n.shape),
                       kir_content_digest(k));
}

}  // namespace pg
