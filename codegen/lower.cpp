// Graph-to-kir lowering (see lower.h).
#include "codegen/lower.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

#include "base/error.h"

namespace pg {
namespace {

using kir::ExprRef;
using Index = std::vector<ExprRef>;

class Lowerer {
public:
    Lowerer(const Graph& g, const Schedule& s, NodeId root, std::string name) : g_(g), s_(s), root_(root) {
        out_.kernel.name = std::move(name);
        current_ = &out_.kernel.body;
        memo_.emplace_back();
    }

    LoweredKernel lower_loop() {
        const Node& r = g_[root_];
        if (s_.options.row_accumulation && r.op == Op::Matmul && r.dtype == DType::f32) return lower_matmul();
        if (s_.options.row_accumulation && is_outer_reduction(g_, root_)) return lower_outer_reduction();
        int out = buffer(root_, true);
        Index idx = open_loops(r.shape, "i", true);
        ExprRef v = compute_node(root_, idx);
        emit_store(kir::StmtKind::Store, out, linear(idx, r.shape), v);
        return finish();
    }

    // An f32 matmul root accumulates in its output row, in i-k-j order: the innermost loop runs
    // over contiguous columns of B and C, so it vectorizes (the i-j-k reduction form reads B with
    // stride N and measured 3 GFLOP/s at 512^3 against 20+ for this form on one core).
    LoweredKernel lower_matmul() {
        const Node& r = g_[root_];
        const size_t rank = r.shape.size();
        const int64_t n = r.shape[rank - 1], k = g_[r.inputs[0]].shape[rank - 1];
        int out = buffer(root_, true);
        Shape rows(r.shape.begin(), r.shape.end() - 1);
        Index idx = open_loops(rows, "i", true);
        std::vector<kir::Stmt>* row_scope = current_;
        auto at = [&](const Index& lead, ExprRef last) {
            Index full = lead;
            full.push_back(std::move(last));
            return full;
        };
        Index zj = open_loops({n}, "z", false);
        emit_store(kir::StmtKind::Store, out, linear(at(idx, zj[0]), r.shape), kir::constant(0, DType::f32));
        current_ = row_scope;
        memo_.emplace_back();
        Index kk = open_loops({k}, "k", false);
        ExprRef a = cast_to(gen(r.inputs[0], at(idx, kk[0])), DType::f32);
        Index batch(idx.begin(), idx.end() - 1);
        Index jj = open_loops({n}, "j", false);
        ExprRef bv = cast_to(gen(r.inputs[1], at(at(batch, kk[0]), jj[0])), DType::f32);
        emit_store(kir::StmtKind::StoreAdd, out, linear(at(idx, jj[0]), r.shape),
                   kir::compute(Op::Mul, DType::f32, {a, bv}));
        memo_.pop_back();
        current_ = row_scope;
        return finish();
    }

    // A sum over outer axes walks its input in storage order and adds each contiguous row into the
    // output row (kept axes before the first reduced one run in parallel): the innermost loop is
    // unit-stride on both sides, where a per-output accumulator would stride through the input.
    LoweredKernel lower_outer_reduction() {
        const Node& r = g_[root_];
        const Node& in = g_[r.inputs[0]];
        const size_t first = static_cast<size_t>(r.ints.front());
        int out = buffer(root_, true);
        Index pidx = open_loops(Shape(in.shape.begin(), in.shape.begin() + static_cast<long>(first)), "i", true);
        std::vector<kir::Stmt>* scope = current_;
        Index zidx = open_loops(Shape(r.shape.begin() + static_cast<long>(first), r.shape.end()), "z", false);
        Index zfull = pidx;
        zfull.insert(zfull.end(), zidx.begin(), zidx.end());
        emit_store(kir::StmtKind::Store, out, linear(zfull, r.shape), kir::constant(0, DType::f32));
        current_ = scope;
        memo_.emplace_back();
        Index ridx = open_loops(Shape(in.shape.begin() + static_cast<long>(first), in.shape.end()), "r", false);
        Index iidx = pidx;
        iidx.insert(iidx.end(), ridx.begin(), ridx.end());
        Index oidx = iidx;
        for (int64_t ax : r.ints) oidx[ax] = kir::index_const(0);
        emit_store(kir::StmtKind::StoreAdd, out, linear(oidx, r.shape), cast_to(gen(r.inputs[0], iidx), DType::f32));
        memo_.pop_back();
        current_ = scope;
        return finish();
    }

    LoweredKernel lower_scatter() {
        const Node& r = g_[root_];
        const Node& index = g_[r.inputs[0]];
        const Node& src = g_[r.inputs[1]];
        int out = buffer(root_, true);
        // Zero-fill, then serial adds: repeated indices make a parallel scatter racy.
        std::vector<kir::Stmt>* top = current_;
        Index zidx = open_loops({numel(r.shape)}, "z", false);
        emit_store(kir::StmtKind::Store, out, zidx[0], kir::constant(0, r.dtype));
        current_ = top;
        memo_.resize(1);
        Index sidx = open_loops(src.shape, "s", false);
        Index iidx(sidx.begin(), sidx.begin() + static_cast<long>(index.shape.size()));
        ExprRef row = clamp(to_i64(gen(r.inputs[0], iidx)), r.shape[0]);
        Index oidx{row};
        oidx.insert(oidx.end(), sidx.begin() + static_cast<long>(index.shape.size()), sidx.end());
        emit_store(kir::StmtKind::StoreAdd, out, linear(oidx, r.shape), gen(r.inputs[1], sidx));
        return finish();
    }

    // The epilogue of Gemm kernel k (lower.h): the product, buffer 0, is read like any
    // materialised node (Lowerer's root is none); each member's value at the element is then
    // memoised under the member, so that a later member reads it instead of its buffer.
    // Members and reshapes on the way to the product are indexed by the element's canonical
    // index in their shape (canonical_index), so that a member read at the element finds its
    // memoised value whatever shape it has.
    LoweredKernel lower_epilogue(const ScheduledKernel& k) {
        const Node& product = g_[k.root];
        buffer(k.root, false);
        element_ = open_loops(product.shape, "i", true);
        element_shape_ = product.shape;
        canonical_[product.shape] = element_;
        const ExprRef flat = linear(element_, product.shape);
        for (NodeId e : k.epilogue) {
            const Index& at = canonical_index(g_[e].shape);
            ExprRef v = compute_node(e, at);
            std::vector<const kir::Expr*> key;
            for (const ExprRef& x : at) key.push_back(x.get());
            memo_.back()[{e, key}] = {v, at};
            if (k.stores(e)) emit_store(kir::StmtKind::Store, buffer(e, true), flat, v);
        }
        return finish();
    }

private:
    LoweredKernel finish() {
        kir::verify(out_.kernel);
        return std::move(out_);
    }

    int buffer(NodeId id, bool written) {
        auto it = buffers_.find(id);
        if (it != buffers_.end()) return it->second;
        const Node& n = g_[id];
        int b = static_cast<int>(out_.kernel.buffers.size());
        out_.kernel.buffers.push_back({fmt::format("%{} {}", id, n.name.empty() ? op_name(n.op) : n.name), n.dtype,
                                       numel(n.shape), written});
        out_.buffer_nodes.push_back(id);
        buffers_[id] = b;
        return b;
    }

    // Opens one loop per dim of extent > 1 (the first one parallel if allowed); returns the index.
    Index open_loops(const Shape& shape, const char* prefix, bool parallel) {
        Index idx;
        bool first = true;
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] == 1) {
                idx.push_back(kir::index_const(0));
                continue;
            }
            kir::Stmt loop;
            loop.kind = kir::StmtKind::Loop;
            loop.var = out_.kernel.new_var(fmt::format("{}{}_{}", prefix, d, out_.kernel.vars.size()), DType::i64);
            loop.extent = shape[d];
            loop.parallel = parallel && first && current_ == &out_.kernel.body && current_->empty();
            first = false;
            current_->push_back(std::move(loop));
            idx.push_back(kir::var(current_->back().var, DType::i64));
            current_ = &current_->back().body;
        }
        return idx;
    }

    void emit_store(kir::StmtKind kind, int buf, ExprRef index, ExprRef value) {
        kir::Stmt st;
        st.kind = kind;
        st.buffer = buf;
        st.index = std::move(index);
        st.value = std::move(value);
        current_->push_back(std::move(st));
    }

    ExprRef let(ExprRef value, const char* hint) {
        if (value->kind == kir::ExprKind::Const || value->kind == kir::ExprKind::Var) return value;
        kir::Stmt st;
        st.kind = kir::StmtKind::Let;
        st.var = out_.kernel.new_var(fmt::format("{}{}", hint, out_.kernel.vars.size()), value->dtype);
        st.value = value;
        current_->push_back(st);
        return kir::var(st.var, value->dtype);
    }

    // The epilogue's element (the loop nest over the product) as an index of `shape` (of the
    // product's element count), made once per shape so that its expressions keep their identity.
    const Index& canonical_index(const Shape& shape) {
        auto it = canonical_.find(shape);
        if (it == canonical_.end()) it = canonical_.emplace(shape, reshape_index(element_, element_shape_, shape)).first;
        return it->second;
    }

    // Whether `idx` is the epilogue's element in `shape`.
    bool is_element(const Index& idx, const Shape& shape) const {
        auto it = canonical_.find(shape);
        if (it == canonical_.end() || it->second.size() != idx.size()) return false;
        for (size_t d = 0; d < idx.size(); ++d)
            if (it->second[d] != idx[d]) return false;
        return true;
    }

    static ExprRef linear(const Index& idx, const Shape& shape) {
        auto strides = contiguous_strides(shape);
        ExprRef acc = kir::index_const(0);
        for (size_t d = 0; d < shape.size(); ++d)
            if (shape[d] != 1) acc = kir::iadd(acc, kir::imul(idx[d], kir::index_const(strides[d])));
        return acc;
    }

    static ExprRef to_i64(ExprRef e) {
        return e->dtype == DType::i64 ? e : kir::compute(Op::Cast, DType::i64, {std::move(e)});
    }

    static ExprRef clamp(ExprRef e, int64_t extent) {
        return kir::imin(kir::imax(std::move(e), kir::index_const(0)), kir::index_const(extent - 1));
    }

    // Index of `in` read by a reshape producing `out` at `idx`: dims are matched in blocks of equal
    // element count, and only blocks that really merge or split dims pay for division.
    static Index reshape_index(const Index& idx, const Shape& out, const Shape& in) {
        Index r(in.size());
        size_t i = 0, j = 0;
        while (i < in.size() || j < out.size()) {
            size_t i0 = i, j0 = j;
            int64_t pi = i < in.size() ? in[i++] : 1, pj = j < out.size() ? out[j++] : 1;
            while (pi != pj) {
                if (pi < pj && i < in.size()) pi *= in[i++];
                else if (j < out.size()) pj *= out[j++];
                else break;
            }
            // Linearise the out block, delinearise into the in block.
            ExprRef lin = kir::index_const(0);
            for (size_t d = j0; d < j; ++d) lin = kir::iadd(kir::imul(lin, kir::index_const(out[d])), idx[d]);
            int64_t stride = 1;
            for (size_t d = i; d-- > i0;) {
                ExprRef q = kir::idiv(lin, kir::index_const(stride));
                r[d] = (d == i0) ? q : kir::imod(q, kir::index_const(in[d]));
                if (in[d] == 1) r[d] = kir::index_const(0);
                stride *= in[d];
            }
        }
        return r;
    }

    ExprRef gen(NodeId id, const Index& idx) {
        const Node& n = g_[id];
        if (s_.materialized[id] && id != root_) {
            int b = buffer(id, false);
            if (n.op == Op::Scalar) return let(kir::load(b, n.dtype, kir::index_const(0)), "s");
            return memoized(id, idx, [&] { return let(kir::load(b, n.dtype, linear(idx, n.shape)), "v"); });
        }
        return compute_node(id, idx);
    }

    // A node's value at an index is generated once per scope, keyed by the index expressions'
    // identities. The entry keeps those expressions alive: index expressions are often temporaries
    // (a slice's or reshape's re-indexing), and once freed their addresses are reused by new ones,
    // which would then find a stale entry (found by the graph fuzzer: a slice of element 1 read
    // element 0's memoized value).
    template <class F>
    ExprRef memoized(NodeId id, const Index& idx, F make) {
        std::vector<const kir::Expr*> key;
        for (const ExprRef& e : idx) key.push_back(e.get());
        for (auto& scope : memo_) {
            auto it = scope.find({id, key});
            if (it != scope.end()) return it->second.value;
        }
        ExprRef v = make();
        memo_.back()[{id, key}] = {v, idx};
        return v;
    }

    ExprRef compute_node(NodeId id, const Index& idx) {
        const Node& n = g_[id];
        switch (op_kind(n.op)) {
            case OpKind::Leaf:
                if (n.op == Op::Const) return kir::constant(n.scalar, n.dtype);
                if (n.op == Op::Iota) {
                    ExprRef i = idx[n.ints[0]];
                    return n.dtype == DType::i64 ? i : kir::compute(Op::Cast, n.dtype, {i});
                }
                PG_UNREACHABLE("leaf {} must be materialised", op_name(n.op));
            case OpKind::Unary:
            case OpKind::Binary:
            case OpKind::Ternary:
                return memoized(id, idx, [&] {
                    std::vector<ExprRef> args;
                    for (NodeId in : n.inputs) args.push_back(gen(in, idx));
                    return let(kir::compute(n.op, n.dtype, std::move(args)), "t");
                });
            case OpKind::Reduce: return memoized(id, idx, [&] { return reduce(n, idx); });
            case OpKind::Matmul: return memoized(id, idx, [&] { return matmul(n, idx); });
            case OpKind::Movement: return movement(n, idx);
            case OpKind::Index: {
                PG_ASSERT(n.op == Op::Gather, "scatter_add is always materialised");
                const Node& table = g_[n.inputs[0]];
                size_t ir = g_[n.inputs[1]].shape.size();
                Index iidx(idx.begin(), idx.begin() + static_cast<long>(ir));
                ExprRef row = let(clamp(to_i64(gen(n.inputs[1], iidx)), table.shape[0]), "row");
                Index tidx{row};
                tidx.insert(tidx.end(), idx.begin() + static_cast<long>(ir), idx.end());
                return gen(n.inputs[0], tidx);
            }
            case OpKind::Composite: PG_UNREACHABLE("composite {} reached lowering", op_name(n.op));
        }
        PG_UNREACHABLE();
    }

    ExprRef movement(const Node& n, const Index& idx) {
        const Node& in = g_[n.inputs[0]];
        size_t r = n.shape.size();
        switch (n.op) {
            case Op::Reshape:
                if (is_element(idx, n.shape)) return gen(n.inputs[0], canonical_index(in.shape));
                return gen(n.inputs[0], reshape_index(idx, n.shape, in.shape));
            case Op::Permute: {
                Index ii(r);
                for (size_t d = 0; d < r; ++d) ii[n.ints[d]] = idx[d];
                return gen(n.inputs[0], ii);
            }
            case Op::Broadcast: {
                Index ii(r);
                for (size_t d = 0; d < r; ++d) ii[d] = in.shape[d] == 1 ? kir::index_const(0) : idx[d];
                return gen(n.inputs[0], ii);
            }
            case Op::Slice: {
                Index ii(r);
                for (size_t d = 0; d < r; ++d)
                    ii[d] = kir::iadd(kir::index_const(n.ints[d]), kir::imul(idx[d], kir::index_const(n.ints[r + d])));
                return gen(n.inputs[0], ii);
            }
            case Op::Pad: {
                Index ii(r);
                ExprRef valid;
                for (size_t d = 0; d < r; ++d) {
                    if (n.shape[d] == in.shape[d]) {
                        ii[d] = idx[d];
                        continue;
                    }
                    ExprRef p = kir::iadd(idx[d], kir::index_const(-n.ints[d]));
                    ExprRef ok = kir::compute(Op::And, DType::boolean,
                                              {kir::compute(Op::Ge, DType::boolean, {p, kir::index_const(0)}),
                                               kir::compute(Op::Lt, DType::boolean, {p, kir::index_const(in.shape[d])})});
                    valid = valid ? kir::compute(Op::And, DType::boolean, {valid, ok}) : ok;
                    ii[d] = clamp(p, in.shape[d]);
                }
                ExprRef v = gen(n.inputs[0], ii);
                if (!valid) return v;
                return let(kir::compute(Op::Select, n.dtype, {let(valid, "m"), v, kir::constant(n.scalar, n.dtype)}), "p");
            }
            case Op::Concat: {
                int64_t axis = n.ints[0];
                std::vector<int64_t> offsets;
                int64_t off = 0;
                for (NodeId part : n.inputs) {
                    offsets.push_back(off);
                    off += g_[part].shape[axis];
                }
                ExprRef v;
                for (size_t p = n.inputs.size(); p-- > 0;) {
                    Index ii = idx;
                    ii[axis] = clamp(kir::iadd(idx[axis], kir::index_const(-offsets[p])), g_[n.inputs[p]].shape[axis]);
                    ExprRef part = gen(n.inputs[p], ii);
                    if (!v) {
                        v = part;
                        continue;
                    }
                    ExprRef in_part = kir::compute(Op::Lt, DType::boolean,
                                                   {idx[axis], kir::index_const(offsets[p] + g_[n.inputs[p]].shape[axis])});
                    v = let(kir::compute(Op::Select, n.dtype, {in_part, part, v}), "c");
                }
                return v;
            }
            default: PG_UNREACHABLE();
        }
    }

    static DType acc_dtype(DType t) { return is_float(t) ? DType::f32 : DType::i64; }

    static ExprRef cast_to(ExprRef e, DType t) {
        return e->dtype == t ? e : kir::compute(Op::Cast, t, {std::move(e)});
    }

    // Opens an accumulator and one serial loop per reduced extent; `body` receives the index of
    // the reduced loop vars and returns the value to accumulate.
    template <class F>
    ExprRef accumulate(Op combine, DType result, const Shape& extents, F body) {
        DType at = acc_dtype(result);
        double init = combine == Op::Add ? 0.0
                                         : (is_float(at) ? -std::numeric_limits<double>::infinity()
                                                         : static_cast<double>(std::numeric_limits<int64_t>::min()));
        kir::Stmt ai;
        ai.kind = kir::StmtKind::AccInit;
        ai.var = out_.kernel.new_var(fmt::format("acc{}", out_.kernel.vars.size()), at);
        ai.value = kir::constant(init, at);
        int acc = ai.var;
        current_->push_back(ai);
        std::vector<kir::Stmt>* outer = current_;
        memo_.emplace_back();
        Index ridx = open_loops(extents, "r", false);
        ExprRef v = cast_to(body(ridx), at);
        kir::Stmt up;
        up.kind = kir::StmtKind::AccUpdate;
        up.var = acc;
        up.op = combine;
        up.value = v;
        current_->push_back(up);
        memo_.pop_back();
        current_ = outer;
        return let(cast_to(kir::var(acc, at), result), "red");
    }

    ExprRef reduce(const Node& n, const Index& idx) {
        const Node& in = g_[n.inputs[0]];
        Shape extents;
        for (int64_t ax : n.ints) extents.push_back(in.shape[ax]);
        return accumulate(n.op == Op::Sum ? Op::Add : Op::Max, n.dtype, extents, [&](const Index& ridx) {
            Index ii = idx;
            for (size_t k = 0; k < n.ints.size(); ++k) ii[n.ints[k]] = ridx[k];
            return gen(n.inputs[0], ii);
        });
    }

    ExprRef matmul(const Node& n, const Index& idx) {
        size_t r = n.shape.size();
        int64_t k = g_[n.inputs[0]].shape[r - 1];
        return accumulate(Op::Add, n.dtype, {k}, [&](const Index& ridx) {
            Index ai = idx, bi = idx;
            ai[r - 1] = ridx[0];
            bi[r - 2] = ridx[0];
            ExprRef a = cast_to(gen(n.inputs[0], ai), DType::f32);
            ExprRef b = cast_to(gen(n.inputs[1], bi), DType::f32);
            return kir::compute(Op::Mul, DType::f32, {a, b});
        });
    }

    const Graph& g_;
    const Schedule& s_;
    NodeId root_;
    LoweredKernel out_;
    std::map<NodeId, int> buffers_;
    std::vector<kir::Stmt>* current_;
    struct Memoized {
        ExprRef value;
        Index key;  // holds the key's expressions, so that their addresses stay theirs
    };
    std::vector<std::map<std::pair<NodeId, std::vector<const kir::Expr*>>, Memoized>> memo_;
    // GEMM epilogues: the loop nest's element, its shape and the element's index per shape.
    Index element_;
    Shape element_shape_;
    std::map<Shape, Index> canonical_;
};

}  // namespace

LoweredKernel lower_kernel(const Graph& g, const Schedule& s, const ScheduledKernel& k, const std::string& name) {
    Lowerer l(g, s, k.root, name);
    switch (k.kind) {
        case KernelKind::Loop: return l.lower_loop();
        case KernelKind::ScatterAdd: return l.lower_scatter();
        case KernelKind::Gemm:
        case KernelKind::Attention:
        case KernelKind::LinearCe: break;
    }
    PG_UNREACHABLE("BLAS and template kernels are not lowered to kir");
}

LoweredKernel lower_gemm_epilogue(const Graph& g, const Schedule& s, const ScheduledKernel& k, const std::string& name) {
    PG_ASSERT(k.kind == KernelKind::Gemm && !k.epilogue.empty(), "{} has no GEMM epilogue", name);
    return Lowerer(g, s, kNoNode, name).lower_epilogue(k);
}

}  // namespace pg
