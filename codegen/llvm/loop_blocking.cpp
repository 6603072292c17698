// Loop blocking of CPU kernels (see loop_blocking.h).
#include "codegen/llvm/loop_blocking.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"

namespace pg {
namespace {

using kir::ExprRef;
using kir::Stmt;
using kir::StmtKind;
using VarSet = std::set<int>;
using Subst = std::map<int, ExprRef>;

// The L1 data cache of a Zen 3 core (32 KiB, as of most x86 cores): data reused across rows that
// fits in it stays there without blocking.
constexpr int64_t kL1Bytes = 32 * 1024;

// Expressions are DAGs (fusion shares subexpressions): every walk visits a node once.
using Seen = std::set<const kir::Expr*>;

void expr_vars(const ExprRef& e, VarSet& out, Seen& seen) {
    if (!e || !seen.insert(e.get()).second) return;
    if (e->kind == kir::ExprKind::Var) out.insert(e->var);
    for (const ExprRef& a : e->args) expr_vars(a, out, seen);
}

void expr_vars(const ExprRef& e, VarSet& out) {
    Seen seen;
    expr_vars(e, out, seen);
}

// Variables the statements read (an accumulator update reads its accumulator).
void used_vars(const std::vector<Stmt>& body, VarSet& out) {
    for (const Stmt& s : body) {
        expr_vars(s.index, out);
        expr_vars(s.value, out);
        if (s.kind == StmtKind::AccUpdate) out.insert(s.var);
        used_vars(s.body, out);
    }
}

void defined_vars(const std::vector<Stmt>& body, VarSet& out) {
    for (const Stmt& s : body) {
        if (s.kind == StmtKind::Loop || s.kind == StmtKind::Let || s.kind == StmtKind::AccInit) out.insert(s.var);
        defined_vars(s.body, out);
    }
}

// The loop variables each variable of a nest depends on: a loop variable on itself, a Let on
// those of its value (a variable defined outside the nest, or the row, on nothing / itself).
using Deps = std::map<int, VarSet>;

VarSet loop_deps(const ExprRef& e, const Deps& deps) {
    VarSet used, out;
    expr_vars(e, used);
    for (int v : used) {
        auto it = deps.find(v);
        if (it == deps.end()) out.insert(v);
        else out.insert(it->second.begin(), it->second.end());
    }
    return out;
}

// The largest footprint in bytes of a load that no row-dependent variable enters: the product of
// the extents of the loops its index walks, times its element size.
struct ReuseScan {
    int row;
    Deps deps;
    std::map<int, int64_t> extent;
    int64_t bytes = 0;
    Seen seen;

    void scan(const ExprRef& e) {
        if (!e || !seen.insert(e.get()).second) return;
        if (e->kind == kir::ExprKind::Load) {
            VarSet d = loop_deps(e->args[0], deps);
            if (!d.count(row)) {
                int64_t n = static_cast<int64_t>(dtype_size(e->dtype));
                for (int v : d) n *= extent.count(v) ? extent[v] : 1;
                bytes = std::max(bytes, n);
            }
        }
        for (const ExprRef& a : e->args) scan(a);
    }
    void scan(const std::vector<Stmt>& body) {
        for (const Stmt& s : body) {
            scan(s.index);
            scan(s.value);
            if (s.kind == StmtKind::Let) deps[s.var] = loop_deps(s.value, deps);
            if (s.kind == StmtKind::Loop) {
                deps[s.var] = {s.var};
                extent[s.var] = s.extent;
            }
            scan(s.body);
        }
    }
};

ExprRef substitute(const ExprRef& e, const Subst& subst, std::map<const kir::Expr*, ExprRef>& memo) {
    if (!e) return e;
    if (auto it = memo.find(e.get()); it != memo.end()) return it->second;
    ExprRef out = e;
    if (e->kind == kir::ExprKind::Var) {
        if (auto it = subst.find(e->var); it != subst.end()) out = it->second;
    } else if (!e->args.empty()) {
        auto copy = std::make_shared<kir::Expr>(*e);
        bool changed = false;
        for (ExprRef& a : copy->args) {
            ExprRef n = substitute(a, subst, memo);
            changed |= n != a;
            a = std::move(n);
        }
        if (changed) out = copy;
    }
    memo.emplace(e.get(), out);
    return out;
}

std::vector<Stmt> substitute(std::vector<Stmt> body, const Subst& subst, std::map<const kir::Expr*, ExprRef>& memo) {
    for (Stmt& s : body) {
        s.index = substitute(s.index, subst, memo);
        s.value = substitute(s.value, subst, memo);
        s.body = substitute(std::move(s.body), subst, memo);
    }
    return body;
}

Stmt loop(int var, int64_t extent, std::vector<Stmt> body, bool parallel = false) {
    Stmt s;
    s.kind = StmtKind::Loop;
    s.var = var;
    s.extent = extent;
    s.parallel = parallel;
    s.body = std::move(body);
    return s;
}

// outer * block + inner: the original loop variable inside a blocked nest.
ExprRef blocked_index(int outer, int64_t block, int inner) {
    return kir::iadd(kir::imul(kir::var(outer, DType::i64), kir::index_const(block)), kir::var(inner, DType::i64));
}

// The effective blocking of c on a nest: rows 0 -> 1, inner 0 -> Q.
std::pair<int64_t, int64_t> resolved(const CpuLoopConfig& c, const BlockableNest& n) {
    return {c.rows > 0 ? c.rows : 1, c.inner > 0 ? c.inner : n.inner};
}

}  // namespace

std::optional<BlockableNest> blockable_nest(const kir::Kernel& k) {
    if (k.body.size() != 1 || k.body[0].kind != StmtKind::Loop || !k.body[0].parallel) return std::nullopt;
    const Stmt& outer = k.body[0];
    if (outer.body.empty() || outer.body.back().kind != StmtKind::Loop) return std::nullopt;
    const Stmt& inner = outer.body.back();
    std::vector<Stmt> pre(outer.body.begin(), outer.body.end() - 1);
    VarSet pre_defined, inner_used;
    defined_vars(pre, pre_defined);
    used_vars({inner}, inner_used);
    // A Let of pre() is out of scope once pre() runs in its own loop, and an accumulator opened
    // there would be shared by the rows of a block (nothing else is defined outside the inner loop).
    for (int v : inner_used)
        if (pre_defined.count(v)) return std::nullopt;
    ReuseScan reuse{outer.var, {{outer.var, {outer.var}}}, {}, 0};
    reuse.scan(std::vector<Stmt>{inner});
    return BlockableNest{outer.extent, inner.extent, reuse.bytes};
}

kir::Kernel blocked_kernel(const kir::Kernel& k, const CpuLoopConfig& c) {
    if (c.rows <= 1 && c.inner == 0) return k;
    std::optional<BlockableNest> nest = blockable_nest(k);
    PG_CHECK(nest, "kernel {} has no loop nest that rows={} inner={} can block; remove its record from the tuning "
             "database (PG_TUNE_DB) or run pgolf tune --retune", k.name, c.rows, c.inner);
    auto [rows, tile] = resolved(c, *nest);
    PG_CHECK(c.rows >= 0 && c.inner >= 0 && nest->rows % rows == 0 && nest->inner % tile == 0,
             "kernel {}: blocking rows={} inner={} does not divide its loops ({} x {}); remove its record from the "
             "tuning database (PG_TUNE_DB) or run pgolf tune --retune", k.name, c.rows, c.inner, nest->rows, nest->inner);
    if (rows == 1 && tile == nest->inner) return k;
    kir::Kernel out = k;
    const Stmt& outer = k.body[0];
    const Stmt& inner = outer.body.back();
    const std::string& p = k.vars[outer.var].name;
    const std::string& q = k.vars[inner.var].name;
    int pb = out.new_var(p + "b", DType::i64), pr = out.new_var(p + "r", DType::i64);
    int pr2 = out.new_var(p + "r2", DType::i64), qb = out.new_var(q + "b", DType::i64);
    int qr = out.new_var(q + "r", DType::i64);
    std::map<const kir::Expr*, ExprRef> pre_memo, inner_memo;
    std::vector<Stmt> pre(outer.body.begin(), outer.body.end() - 1);
    std::vector<Stmt> block;
    if (!pre.empty()) block.push_back(loop(pr, rows, substitute(pre, {{outer.var, blocked_index(pb, rows, pr)}}, pre_memo)));
    Subst in_tile{{outer.var, blocked_index(pb, rows, pr2)}, {inner.var, blocked_index(qb, tile, qr)}};
    Stmt tile_loop = loop(qr, tile, substitute(inner.body, in_tile, inner_memo));
    block.push_back(loop(qb, nest->inner / tile, {loop(pr2, rows, {std::move(tile_loop)})}));
    out.body = {loop(pb, nest->rows / rows, std::move(block), true)};
    kir::verify(out);
    return out;
}

std::vector<CpuLoopConfig> blocking_candidates(const kir::Kernel& k, int min_blocks) {
    std::optional<BlockableNest> nest = blockable_nest(k);
    std::vector<CpuLoopConfig> out;
    if (!nest || nest->reuse_bytes <= kL1Bytes) return out;
    // Rows: 4 and 16 reuse each tile 4 or 16 times. Tiles: 32 and 128 iterations, e.g. 32 or 128
    // rows of a 128-wide f32 B operand: 16 KiB (half a 32 KiB L1d) or 64 KiB (an eighth of L2).
    for (int rows : {4, 16})
        for (int inner : {32, 128})
            if (nest->rows % rows == 0 && nest->rows / rows >= min_blocks && inner < nest->inner &&
                nest->inner % inner == 0)
                out.push_back(CpuLoopConfig{0, rows, inner});
    return out;
}

}  // namespace pg
