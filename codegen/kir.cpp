// Kernel IR constructors, canonical printer and verifier (see kir.h).
#include "codegen/kir.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg::kir {

ExprRef constant(double value, DType dtype) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Const;
    e->dtype = dtype;
    e->value = round_to_dtype(value, dtype);
    return e;
}

ExprRef index_const(int64_t value) { return constant(static_cast<double>(value), DType::i64); }

ExprRef var(int id, DType dtype) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Var;
    e->var = id;
    e->dtype = dtype;
    return e;
}

ExprRef load(int buffer, DType dtype, ExprRef index) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Load;
    e->buffer = buffer;
    e->dtype = dtype;
    e->args = {std::move(index)};
    return e;
}

ExprRef compute(Op op, DType dtype, std::vector<ExprRef> args) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Compute;
    e->op = op;
    e->dtype = dtype;
    e->args = std::move(args);
    return e;
}

bool is_const(const ExprRef& e, double value) { return e->kind == ExprKind::Const && e->value == value; }

ExprRef idiv(ExprRef a, ExprRef b) {
    if (is_const(b, 1)) return a;
    if (a->kind == ExprKind::Const && b->kind == ExprKind::Const)
        return index_const(static_cast<int64_t>(a->value) / static_cast<int64_t>(b->value));
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::IDiv;
    e->dtype = DType::i64;
    e->args = {std::move(a), std::move(b)};
    return e;
}

ExprRef imod(ExprRef a, ExprRef b) {
    if (is_const(b, 1)) return index_const(0);
    if (a->kind == ExprKind::Const && b->kind == ExprKind::Const)
        return index_const(static_cast<int64_t>(a->value) % static_cast<int64_t>(b->value));
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::IMod;
    e->dtype = DType::i64;
    e->args = {std::move(a), std::move(b)};
    return e;
}

ExprRef iadd(ExprRef a, ExprRef b) {
    if (is_const(a, 0)) return b;
    if (is_const(b, 0)) return a;
    if (a->kind == ExprKind::Const && b->kind == ExprKind::Const) return index_const(static_cast<int64_t>(a->value + b->value));
    return compute(Op::Add, DType::i64, {std::move(a), std::move(b)});
}

ExprRef imul(ExprRef a, ExprRef b) {
    if (is_const(a, 0) || is_const(b, 0)) return index_const(0);
    if (is_const(a, 1)) return b;
    if (is_const(b, 1)) return a;
    if (a->kind == ExprKind::Const && b->kind == ExprKind::Const) return index_const(static_cast<int64_t>(a->value * b->value));
    return compute(Op::Mul, DType::i64, {std::move(a), std::move(b)});
}

ExprRef imin(ExprRef a, ExprRef b) { return compute(Op::Min, DType::i64, {std::move(a), std::move(b)}); }
ExprRef imax(ExprRef a, ExprRef b) { return compute(Op::Max, DType::i64, {std::move(a), std::move(b)}); }

int Kernel::new_var(std::string name, DType dtype) {
    vars.push_back({std::move(name), dtype});
    return static_cast<int>(vars.size()) - 1;
}

int64_t Kernel::parallel_extent() const {
    if (!body.empty() && body[0].kind == StmtKind::Loop && body[0].parallel) return body[0].extent;
    return 1;
}

namespace {

std::string expr_str(const Kernel& k, const ExprRef& e) {
    switch (e->kind) {
        case ExprKind::Const:
            if (is_float(e->dtype)) return fmt::format("{}:{}", e->value, dtype_name(e->dtype));
            return fmt::format("{}", static_cast<int64_t>(e->value));
        case ExprKind::Var: return k.vars.at(e->var).name;
        case ExprKind::Load: return fmt::format("b{}[{}]", e->buffer, expr_str(k, e->args[0]));
        case ExprKind::IDiv: return fmt::format("({} / {})", expr_str(k, e->args[0]), expr_str(k, e->args[1]));
        case ExprKind::IMod: return fmt::format("({} % {})", expr_str(k, e->args[0]), expr_str(k, e->args[1]));
        case ExprKind::Compute: {
            std::string s = fmt::format("{}:{}(", op_name(e->op), dtype_name(e->dtype));
            for (size_t i = 0; i < e->args.size(); ++i) s += (i ? ", " : "") + expr_str(k, e->args[i]);
            return s + ")";
        }
    }
    PG_UNREACHABLE();
}

void stmt_str(const Kernel& k, const Stmt& s, int depth, std::string& out) {
    std::string pad(2 * depth, ' ');
    switch (s.kind) {
        case StmtKind::Loop: {
            const char* mark = s.parallel ? " parallel" : s.serial ? " serial" : "";
            out += fmt::format("{}for{} {} in 0..{} {{\n", pad, mark, k.vars.at(s.var).name, s.extent);
            for (const Stmt& c : s.body) stmt_str(k, c, depth + 1, out);
            out += pad + "}\n";
            return;
        }
        case StmtKind::Let:
            out += fmt::format("{}let {}:{} = {}\n", pad, k.vars.at(s.var).name, dtype_name(k.vars.at(s.var).dtype),
                               expr_str(k, s.value));
            return;
        case StmtKind::Store:
        case StmtKind::StoreAdd:
            out += fmt::format("{}b{}[{}] {} {}\n", pad, s.buffer, expr_str(k, s.index),
                               s.kind == StmtKind::Store ? "=" : "+=", expr_str(k, s.value));
            return;
        case StmtKind::AccInit:
            out += fmt::format("{}acc {}:{} = {}\n", pad, k.vars.at(s.var).name, dtype_name(k.vars.at(s.var).dtype),
                               expr_str(k, s.value));
            return;
        case StmtKind::AccUpdate:
            out += fmt::format("{}{} = {}({}, {})\n", pad, k.vars.at(s.var).name, op_name(s.op), k.vars.at(s.var).name,
                               expr_str(k, s.value));
            return;
    }
}

struct Verifier {
    const Kernel& k;
    std::vector<int> defined;  // 0 = undefined, 1 = SSA/loop, 2 = accumulator

    void expr(const ExprRef& e) {
        PG_ASSERT(e != nullptr, "null expression in kernel {}", k.name);
        for (const ExprRef& a : e->args) expr(a);
        switch (e->kind) {
            case ExprKind::Var:
                PG_ASSERT(e->var >= 0 && e->var < static_cast<int>(k.vars.size()) && defined[e->var],
                          "kernel {}: var {} used before definition", k.name, e->var);
                PG_ASSERT(k.vars[e->var].dtype == e->dtype, "kernel {}: var {} dtype mismatch", k.name,
                          k.vars[e->var].name);
                break;
            case ExprKind::Load:
                PG_ASSERT(e->buffer >= 0 && e->buffer < static_cast<int>(k.buffers.size()), "kernel {}: bad buffer",
                          k.name);
                PG_ASSERT(k.buffers[e->buffer].dtype == e->dtype, "kernel {}: load dtype mismatch", k.name);
                PG_ASSERT(e->args.size() == 1 && e->args[0]->dtype == DType::i64, "kernel {}: load index", k.name);
                break;
            case ExprKind::IDiv:
            case ExprKind::IMod:
                PG_ASSERT(e->args.size() == 2 && e->args[0]->dtype == DType::i64 && e->args[1]->dtype == DType::i64,
                          "kernel {}: index arithmetic must be i64", k.name);
                break;
            case ExprKind::Compute:
                PG_ASSERT(is_elementwise(e->op), "kernel {}: {} is not elementwise", k.name, op_name(e->op));
                break;
            case ExprKind::Const: break;
        }
    }

    void define(int v, int how) {
        PG_ASSERT(v >= 0 && v < static_cast<int>(k.vars.size()), "kernel {}: bad var {}", k.name, v);
        PG_ASSERT(!defined[v], "kernel {}: var {} defined twice", k.name, k.vars[v].name);
        defined[v] = how;
    }

    void stmts(const std::vector<Stmt>& body, bool top) {
        for (size_t i = 0; i < body.size(); ++i) {
            const Stmt& s = body[i];
            switch (s.kind) {
                case StmtKind::Loop:
                    PG_ASSERT(!s.parallel || (top && i == 0), "kernel {}: only the first top-level loop may be parallel",
                              k.name);
                    PG_ASSERT(!(s.parallel && s.serial), "kernel {}: a loop both parallel and serial", k.name);
                    define(s.var, 1);
                    stmts(s.body, false);
                    break;
                case StmtKind::Let:
                    expr(s.value);
                    PG_ASSERT(s.value->dtype == k.vars.at(s.var).dtype, "kernel {}: let dtype", k.name);
                    define(s.var, 1);
                    break;
                case StmtKind::Store:
                case StmtKind::StoreAdd:
                    PG_ASSERT(s.buffer >= 0 && s.buffer < static_cast<int>(k.buffers.size()) && k.buffers[s.buffer].written,
                              "kernel {}: store to a buffer not marked written", k.name);
                    expr(s.index);
                    expr(s.value);
                    PG_ASSERT(s.value->dtype == k.buffers[s.buffer].dtype, "kernel {}: store dtype {} into {}", k.name,
                              dtype_name(s.value->dtype), dtype_name(k.buffers[s.buffer].dtype));
                    break;
                case StmtKind::AccInit:
                    expr(s.value);
                    define(s.var, 2);
                    break;
                case StmtKind::AccUpdate:
                    PG_ASSERT(defined.at(s.var) == 2, "kernel {}: update of a non-accumulator", k.name);
                    PG_ASSERT(s.op == Op::Add || s.op == Op::Max, "kernel {}: accumulator op", k.name);
                    expr(s.value);
                    break;
            }
        }
    }
};

}  // namespace

std::string to_string(const Kernel& k) {
    std::string out = fmt::format("kernel {}(", k.name);
    for (size_t i = 0; i < k.buffers.size(); ++i) {
        const BufferParam& b = k.buffers[i];
        out += fmt::format("{}b{}:{}[{}]{}", i ? ", " : "", i, dtype_name(b.dtype), b.numel, b.written ? " out" : "");
    }
    out += ") {\n";
    for (const Stmt& s : k.body) stmt_str(k, s, 1, out);
    return out + "}\n";
}

void verify(const Kernel& k) {
    Verifier v{k, std::vector<int>(k.vars.size(), 0)};
    v.stmts(k.body, true);
}

}  // namespace pg::kir
