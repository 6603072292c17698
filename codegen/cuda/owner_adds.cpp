// Owner threads for the adds of a kernel (see owner_adds.h).
#include "codegen/cuda/owner_adds.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace pg::cuda {
namespace {

using kir::Expr;
using kir::ExprKind;
using kir::ExprRef;
using kir::Stmt;
using kir::StmtKind;

// The perfect nest headed by `head`: each loop whose body is exactly one loop, outermost first.
std::vector<Stmt*> perfect_nest(Stmt& head) {
    std::vector<Stmt*> nest{&head};
    while (nest.back()->body.size() == 1 && nest.back()->body[0].kind == StmtKind::Loop)
        nest.push_back(&nest.back()->body[0]);
    return nest;
}

void collect_adds(const std::vector<Stmt>& body, std::vector<const Stmt*>& adds) {
    for (const Stmt& s : body) {
        if (s.kind == StmtKind::StoreAdd) adds.push_back(&s);
        if (s.kind == StmtKind::Loop) collect_adds(s.body, adds);
    }
}

void vars_in(const Expr& e, std::set<int>& out) {
    if (e.kind == ExprKind::Var) out.insert(e.var);
    for (const ExprRef& a : e.args) vars_in(*a, out);
}

bool is_plain_term(const Expr& e, int& var) {
    if (e.kind == ExprKind::Var) {
        var = e.var;
        return true;
    }
    if (e.kind != ExprKind::Compute || e.op != Op::Mul || e.dtype != DType::i64) return false;
    const Expr& a = *e.args[0];
    const Expr& b = *e.args[1];
    if (a.kind == ExprKind::Const && b.kind == ExprKind::Var && a.value != 0) return is_plain_term(b, var);
    if (b.kind == ExprKind::Const && a.kind == ExprKind::Var && b.value != 0) return is_plain_term(a, var);
    return false;
}

// Splits an index into its plain-term variables and the variables found anywhere else.
void split_index(const Expr& e, std::set<int>& terms, std::set<int>& elsewhere) {
    int v = -1;
    if (is_plain_term(e, v)) {
        terms.insert(v);
    } else if (e.kind == ExprKind::Compute && e.op == Op::Add && e.dtype == DType::i64) {
        for (const ExprRef& a : e.args) split_index(*a, terms, elsewhere);
    } else {
        vars_in(e, elsewhere);
    }
}

// The loop variables of `nest` that own the elements its single add writes (none if it has more).
std::set<int> owner_vars(const std::vector<Stmt*>& nest) {
    std::vector<const Stmt*> adds;
    collect_adds(nest.back()->body, adds);
    if (adds.size() != 1) return {};
    std::set<int> terms, elsewhere, owners;
    split_index(*adds[0]->index, terms, elsewhere);
    for (const Stmt* l : nest)
        if (terms.count(l->var) && !elsewhere.count(l->var)) owners.insert(l->var);
    return owners;
}

bool has_add(const Stmt& s) {
    if (s.kind == StmtKind::StoreAdd) return true;
    return std::any_of(s.body.begin(), s.body.end(), has_add);
}

// Puts the owner loops of `nest` first (in their order) and marks the rest serial.
void reorder(const std::vector<Stmt*>& nest, const std::set<int>& owners) {
    std::vector<std::pair<int, int64_t>> loops;
    for (const Stmt* l : nest)
        if (owners.count(l->var)) loops.emplace_back(l->var, l->extent);
    size_t owned = loops.size();
    for (const Stmt* l : nest)
        if (!owners.count(l->var)) loops.emplace_back(l->var, l->extent);
    for (size_t i = 0; i < nest.size(); ++i) {
        nest[i]->var = loops[i].first;
        nest[i]->extent = loops[i].second;
        nest[i]->serial = i >= owned;
    }
}

// Wraps the top-level statement `s` in a one-iteration loop (one owner thread for the whole nest).
void wrap_in_single_thread(kir::Kernel& k, Stmt& s) {
    Stmt wrapper;
    wrapper.kind = StmtKind::Loop;
    wrapper.var = k.new_var(fmt::format("single_{}", k.vars.size()), DType::i64);
    wrapper.extent = 1;
    wrapper.parallel = std::exchange(s.parallel, false);
    wrapper.body.push_back(std::move(s));
    s = std::move(wrapper);
}

}  // namespace

bool give_adds_owner_threads(kir::Kernel& k) {
    bool changed = false;
    for (Stmt& s : k.body) {
        if (s.kind != StmtKind::Loop || !has_add(s)) continue;
        const std::vector<Stmt*> nest = perfect_nest(s);
        std::set<int> owners = owner_vars(nest);
        if (owners.size() == nest.size()) continue;  // every loop already owns its elements
        if (owners.empty()) {
            wrap_in_single_thread(k, s);
            owners = {s.var};
        }
        reorder(perfect_nest(s), owners);
        changed = true;
    }
    return changed;
}

}  // namespace pg::cuda
