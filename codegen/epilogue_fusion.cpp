// Epilogue fusion (see epilogue_fusion.h).
#include "codegen/epilogue_fusion.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "codegen/view.h"

namespace pg {
namespace {

// A materialised node that a kernel's expression tree reads, and whether every step from the
// kernel's root down to it keeps the flat element index (elementwise ops over equal shapes and
// reshapes): then it is read at the root's element.
struct Read {
    NodeId node = kNoNode;
    bool same_element = false;
};

struct TreeReads {
    std::vector<Read> reads;  // a node reached along paths of both kinds appears twice
    bool elementwise = true;  // no reduction or matmul computed inside the tree
};

// What the inlined expression tree of `root` (a kernel root, computed by its kernel) reads.
TreeReads tree_reads(const Graph& g, const Schedule& s, NodeId root) {
    TreeReads t;
    std::set<std::pair<NodeId, bool>> seen;
    std::vector<std::pair<NodeId, bool>> stack{{root, true}};
    while (!stack.empty()) {
        auto [id, same] = stack.back();
        stack.pop_back();
        if (!seen.insert({id, same}).second) continue;
        if (id != root && s.materialized[id]) {
            t.reads.push_back({id, same});
            continue;
        }
        const Node& n = g[id];
        OpKind k = op_kind(n.op);
        if (k == OpKind::Reduce || k == OpKind::Matmul) t.elementwise = false;
        const bool keeps_element = n.op == Op::Reshape || is_elementwise(n.op);
        for (NodeId in : n.inputs)
            stack.push_back({in, same && keeps_element && (n.op == Op::Reshape || g[in].shape == n.shape)});
    }
    return t;
}

// The materialised nodes kernel k reads, but for the members of its own epilogue.
std::vector<NodeId> kernel_reads(const Graph& g, const Schedule& s, const ScheduledKernel& k) {
    std::vector<NodeId> out;
    auto add_tree = [&](NodeId root) {
        for (const Read& r : tree_reads(g, s, root).reads)
            if (r.node != k.root && std::find(k.epilogue.begin(), k.epilogue.end(), r.node) == k.epilogue.end())
                out.push_back(r.node);
    };
    switch (k.kind) {
        case KernelKind::Gemm:
            for (NodeId in : g[k.root].inputs) out.push_back(gemm_operand(g, s, in).base);
            for (NodeId e : k.epilogue) add_tree(e);
            break;
        case KernelKind::Attention:
        case KernelKind::LinearCe: out = g[k.root].inputs; break;
        case KernelKind::Loop:
        case KernelKind::ScatterAdd: add_tree(k.root); break;
    }
    return out;
}

struct Placement {
    std::vector<int> position;  // per node: the kernel that computes it (-1: a leaf or inlined)
    std::vector<int> gemm;      // per node: the Gemm kernel whose product or epilogue member it is
};

Placement place(const Graph& g, const Schedule& s) {
    Placement p{std::vector<int>(static_cast<size_t>(g.size()), -1), std::vector<int>(static_cast<size_t>(g.size()), -1)};
    for (size_t q = 0; q < s.kernels.size(); ++q) {
        const ScheduledKernel& k = s.kernels[q];
        p.position[k.root] = static_cast<int>(q);
        for (NodeId o : k.outputs)
            if (o != kNoNode) p.position[o] = static_cast<int>(q);
        if (k.kind == KernelKind::Gemm) p.gemm[k.root] = static_cast<int>(q);
    }
    return p;
}

// The Gemm kernel whose epilogue the Loop kernel of `root` can join (see the header), or -1: the
// last GEMM whose product or member the tree reads at its element. Reads of an earlier GEMM's
// nodes are plain reads of buffers that exist by then.
int epilogue_gemm(const Graph& g, const Schedule& s, NodeId root, const Placement& p) {
    TreeReads t = tree_reads(g, s, root);
    if (!t.elementwise) return -1;
    int gemm = -1;
    for (const Read& r : t.reads)
        if (r.same_element) gemm = std::max(gemm, p.gemm[r.node]);
    if (gemm < 0 || numel(g[root].shape) != numel(g[s.kernels[static_cast<size_t>(gemm)].root].shape)) return -1;
    for (const Read& r : t.reads) {
        if (p.gemm[r.node] == gemm && !r.same_element) return -1;
        if (p.gemm[r.node] != gemm && p.position[r.node] >= gemm) return -1;  // not computed yet when the GEMM runs
    }
    return gemm;
}

// The products and members no other kernel, output or update reads: computed, never stored.
void mark_unstored(const Graph& g, const std::vector<bool>& forced, Schedule& s) {
    std::vector<bool> read(static_cast<size_t>(g.size()), false);
    for (const ScheduledKernel& k : s.kernels)
        for (NodeId x : kernel_reads(g, s, k)) read[x] = true;
    for (ScheduledKernel& k : s.kernels) {
        if (k.epilogue.empty()) continue;
        if (!read[k.root] && !forced[k.root]) k.unstored.push_back(k.root);
        for (NodeId e : k.epilogue)
            if (!read[e] && !forced[e]) k.unstored.push_back(e);
    }
}

}  // namespace

void fuse_gemm_epilogues(const Graph& g, const std::vector<bool>& forced, Schedule& s) {
    Placement p = place(g, s);
    std::vector<bool> fused(s.kernels.size(), false);
    for (size_t q = 0; q < s.kernels.size(); ++q) {
        if (s.kernels[q].kind != KernelKind::Loop) continue;
        NodeId e = s.kernels[q].root;
        int gemm = epilogue_gemm(g, s, e, p);
        if (gemm < 0) continue;
        s.kernels[static_cast<size_t>(gemm)].epilogue.push_back(e);
        s.decisions[e] = {false, fmt::format("fused into the epilogue of the GEMM of %{}", s.kernels[static_cast<size_t>(gemm)].root)};
        p.gemm[e] = gemm;
        p.position[e] = gemm;
        fused[q] = true;
    }
    std::vector<ScheduledKernel> kept;
    for (size_t q = 0; q < s.kernels.size(); ++q)
        if (!fused[q]) kept.push_back(std::move(s.kernels[q]));
    s.kernels = std::move(kept);
    mark_unstored(g, forced, s);
}

}  // namespace pg
