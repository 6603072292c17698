// kir expressions as CUDA C++ text (see cuda_expr.h). The conversions mirror the LLVM renderer
// (codegen/llvm/llvm_renderer.cpp) case by case.
#include "codegen/cuda/cuda_expr.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <set>

#include "base/error.h"

namespace pg::cuda {
namespace {

CType wider(CType a, CType b) { return (a == CType::I64 || b == CType::I64) ? CType::I64 : a; }

bool is_int_type(CType t) { return t == CType::I32 || t == CType::I64; }

// Float ops whose result is an operand, its negation or zero: exact in the operands' dtype, so
// the bf16/f16 rounding would be a no-op (as in the LLVM renderer).
bool selects_operand(Op op) { return op == Op::Neg || op == Op::Abs || op == Op::Relu || op == Op::Max || op == Op::Min; }

std::string wrap_int(const std::string& v, DType t) {
    switch (t) {
        case DType::i32: return fmt::format("((long long)(int)({}))", v);
        case DType::u16: return fmt::format("((long long)(pg_u16)({}))", v);
        case DType::u8: return fmt::format("((long long)(pg_u8)({}))", v);
        default: return v;
    }
}

bool valid_identifier(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || s.rfind("pg", 0) == 0) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

}  // namespace

bool mentions_identifier(const std::string& text, const std::string& name) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
        bool left = at == 0 || !word(text[at - 1]);
        bool right = at + name.size() >= text.size() || !word(text[at + name.size()]);
        if (left && right) return true;
    }
    return false;
}

std::string_view ctype_name(CType t) {
    switch (t) {
        case CType::Float: return "float";
        case CType::Bool: return "bool";
        case CType::I32: return "int";
        case CType::I64: return "long long";
    }
    PG_UNREACHABLE();
}

std::string_view memory_type(DType t) {
    switch (t) {
        case DType::f32: return "float";
        case DType::bf16:
        case DType::f16:
        case DType::u16: return "pg_u16";
        case DType::i64: return "long long";
        case DType::i32: return "int";
        case DType::u8:
        case DType::boolean: return "pg_u8";
    }
    PG_UNREACHABLE();
}

CType ExprWriter::type_of(const kir::ExprRef& e) const {
    if (is_float(e->dtype)) return CType::Float;
    if (e->dtype == DType::boolean) return CType::Bool;
    return ix_.is_i32(e) ? CType::I32 : CType::I64;
}

CType ExprWriter::var_type(int var) const {
    DType t = k_.vars.at(static_cast<size_t>(var)).dtype;
    if (is_float(t)) return CType::Float;
    if (t == DType::boolean) return CType::Bool;
    return ix_.var_is_i32(var) ? CType::I32 : CType::I64;
}

ExprWriter::ExprWriter(const kir::Kernel& k, const IndexInfo& ix) : k_(k), ix_(ix) {
    // Lowering names vars uniquely ("t12", "i0_3"); a name that is not a fresh C identifier gets
    // one of the reserved "pgv<id>" names instead.
    std::set<std::string> used;
    for (size_t v = 0; v < k.vars.size(); ++v) {
        const std::string& n = k.vars[v].name;
        bool ok = valid_identifier(n) && used.insert(n).second;
        names_.push_back(ok ? n : fmt::format("pgv{}", v));
    }
}

std::string ExprWriter::var_name(int var) const { return names_.at(static_cast<size_t>(var)); }

std::string ExprWriter::coerce(const std::string& text, CType from, CType to) {
    if (from == to || !is_int_type(from) || !is_int_type(to)) return text;
    return fmt::format("(({})({}))", ctype_name(to), text);
}

std::string ExprWriter::float_literal(double v) {
    auto f = static_cast<float>(v);
    if (std::isnan(f)) return "__int_as_float(0x7fc00000)";
    if (std::isinf(f)) return f > 0 ? "__int_as_float(0x7f800000)" : "(-__int_as_float(0x7f800000))";
    std::string s = fmt::format("{}", f);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    s += "f";
    return s[0] == '-' ? "(" + s + ")" : s;
}

std::string ExprWriter::constant(const kir::Expr& e, CType t) const {
    switch (t) {
        case CType::Float: return float_literal(e.value);
        case CType::Bool: return e.value != 0 ? "true" : "false";
        case CType::I32: {
            auto v = static_cast<int64_t>(e.value);
            return v < 0 ? fmt::format("({})", v) : fmt::format("{}", v);
        }
        case CType::I64: {
            auto v = static_cast<int64_t>(e.value);
            if (v == INT64_MIN) return "(-9223372036854775807LL - 1)";
            return v < 0 ? fmt::format("({}LL)", v) : fmt::format("{}LL", v);
        }
    }
    PG_UNREACHABLE();
}

std::string ExprWriter::round_to(const std::string& v, DType t) const {
    switch (t) {
        case DType::bf16: return fmt::format("pg_round_bf16({})", v);
        case DType::f16: return fmt::format("pg_round_f16({})", v);
        default: return wrap_int(v, t);
    }
}

std::string ExprWriter::from_memory(const std::string& raw, DType t) {
    switch (t) {
        case DType::f32:
        case DType::i64: return raw;
        case DType::bf16: return fmt::format("pg_bf16_to_f32({})", raw);
        case DType::f16: return fmt::format("pg_f16_to_f32({})", raw);
        case DType::i32:
        case DType::u16:
        case DType::u8: return fmt::format("((long long){})", raw);
        case DType::boolean: return fmt::format("({} != 0)", raw);
    }
    PG_UNREACHABLE();
}

// Values always hold exact values of their dtype (every op rounds), so narrowing is exact.
std::string ExprWriter::to_memory(const std::string& v, CType vt, DType t) {
    switch (t) {
        case DType::f32: return v;
        case DType::bf16: return fmt::format("pg_f32_to_bf16({})", v);
        case DType::f16: return fmt::format("pg_f32_to_f16({})", v);
        case DType::i64: return coerce(v, vt, CType::I64);
        case DType::i32: return fmt::format("(int)({})", v);
        case DType::u16: return fmt::format("(pg_u16)({})", v);
        case DType::u8:
        case DType::boolean: return fmt::format("(pg_u8)({})", v);
    }
    PG_UNREACHABLE();
}

std::string ExprWriter::atomic_add(int buffer, const std::string& index, const std::string& v, CType vt) const {
    std::string at = fmt::format("&b{}[{}]", buffer, index);
    switch (k_.buffers.at(static_cast<size_t>(buffer)).dtype) {
        case DType::f32: return fmt::format("atomicAdd({}, {});", at, v);
        case DType::i64: return fmt::format("atomicAdd((pg_u64*){}, (pg_u64)({}));", at, v);
        case DType::i32: return fmt::format("atomicAdd({}, (int)({}));", at, v);
        case DType::bf16: return fmt::format("pg_atomic_add_bf16({}, {});", at, v);
        case DType::f16: return fmt::format("pg_atomic_add_f16({}, {});", at, v);
        case DType::u16: return fmt::format("pg_atomic_add_u16({}, {});", at, coerce(v, vt, CType::I64));
        case DType::u8: return fmt::format("pg_atomic_add_u8({}, {});", at, coerce(v, vt, CType::I64));
        case DType::boolean: break;
    }
    PG_UNREACHABLE("kernel {}: add into a bool buffer", k_.name);
}

std::string ExprWriter::convert(const std::string& text, DType from, DType to) const {
    if (from == to) return text;
    if (to == DType::boolean) return is_float(from) ? fmt::format("({} != 0.0f)", text) : fmt::format("({} != 0)", text);
    if (is_float(to)) {
        std::string f = from == DType::boolean ? fmt::format("({} ? 1.0f : 0.0f)", text)
                        : is_float(from)       ? text
                                               : fmt::format("(float)({})", text);
        return round_to(f, to);  // bf16/f16 -> f32 is exact: round_to is the identity then
    }
    std::string i = from == DType::boolean ? fmt::format("((long long)({}))", text)
                    : is_float(from)       ? fmt::format("pg_f2i({})", text)
                                           : text;
    return wrap_int(i, to);
}

std::string ExprWriter::binary(Op op, const std::string& a, CType at, const std::string& b, CType bt, DType t) const {
    if (is_float(t)) {
        std::string r;
        switch (op) {
            case Op::Add: r = fmt::format("({} + {})", a, b); break;
            case Op::Sub: r = fmt::format("({} - {})", a, b); break;
            case Op::Mul: r = fmt::format("({} * {})", a, b); break;
            case Op::Div: r = fmt::format("({} / {})", a, b); break;
            case Op::Max: return fmt::format("pg_fmax({}, {})", a, b);
            case Op::Min: return fmt::format("pg_fmin({}, {})", a, b);
            case Op::Pow: r = fmt::format("powf({}, {})", a, b); break;
            default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
        }
        return round_to(r, t);
    }
    if (t == DType::boolean) {
        if (op == Op::And || op == Op::Min) return fmt::format("({} && {})", a, b);
        if (op == Op::Or || op == Op::Max) return fmt::format("({} || {})", a, b);
        PG_UNREACHABLE("kernel {}: {} on bool", k_.name, op_name(op));
    }
    std::string x = coerce(a, at, CType::I64), y = coerce(b, bt, CType::I64);
    std::string r;
    switch (op) {
        // Unsigned arithmetic: integer data wraps like the reference's, never undefined overflow.
        case Op::Add: r = fmt::format("((long long)((pg_u64)({}) + (pg_u64)({})))", x, y); break;
        case Op::Sub: r = fmt::format("((long long)((pg_u64)({}) - (pg_u64)({})))", x, y); break;
        case Op::Mul: r = fmt::format("((long long)((pg_u64)({}) * (pg_u64)({})))", x, y); break;
        case Op::Div: r = fmt::format("pg_sdiv({}, {})", x, y); break;
        case Op::Max: r = fmt::format("pg_imax<long long>({}, {})", x, y); break;
        case Op::Min: r = fmt::format("pg_imin<long long>({}, {})", x, y); break;
        default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
    }
    return wrap_int(r, t);
}

std::string ExprWriter::expr(const kir::ExprRef& e) const {
    switch (e->kind) {
        case kir::ExprKind::Const: return constant(*e, type_of(e));
        case kir::ExprKind::Var: return var_name(e->var);
        case kir::ExprKind::Load: {
            std::optional<std::string> raw;
            if (load_override) raw = load_override(*e);
            if (!raw) raw = fmt::format("b{}[{}]", e->buffer, expr(e->args[0]));
            return from_memory(*raw, e->dtype);
        }
        case kir::ExprKind::IDiv:
        case kir::ExprKind::IMod: return index_div(e);
        case kir::ExprKind::Compute: return compute(e);
    }
    PG_UNREACHABLE();
}

std::string ExprWriter::expr_as(const kir::ExprRef& e, CType t) const {
    if (e->kind == kir::ExprKind::Const && is_int_type(t)) return constant(*e, t);
    return coerce(expr(e), type_of(e), t);
}

std::string ExprWriter::index_div(const kir::ExprRef& e) const {
    const kir::ExprRef &a = e->args[0], &b = e->args[1];
    CType r = type_of(e), w = wider(wider(r, type_of(a)), type_of(b));
    std::string x = expr_as(a, w), y = expr_as(b, w);
    const char* op = e->kind == kir::ExprKind::IDiv ? "/" : "%";
    std::string text;
    if (ix_.range(a).non_negative() && ix_.range(b).lo >= 1) {
        // Unsigned division by a constant is a multiply-high and a shift, without sign fix-ups.
        const char* u = w == CType::I32 ? "pg_u32" : "pg_u64";
        text = fmt::format("(({})(({})({}) {} ({})({})))", ctype_name(w), u, x, op, u, y);
    } else {
        text = fmt::format("({} {} {})", x, op, y);
    }
    return coerce(text, w, r);
}

std::string ExprWriter::int_arith(const kir::ExprRef& e) const {
    CType r = type_of(e), w = r;
    for (const kir::ExprRef& a : e->args) w = wider(w, type_of(a));
    std::vector<std::string> x;
    for (const kir::ExprRef& a : e->args) x.push_back(expr_as(a, w));
    Range range = ix_.range(e);
    // Signed arithmetic where the range analysis bounds the result (index math); wrapping
    // unsigned arithmetic on anything else (integer data).
    bool bounded = range.lo > -kUnbounded && range.hi < kUnbounded;
    auto arith = [&](const char* op) {
        if (bounded || w == CType::I32) return fmt::format("({} {} {})", x[0], op, x[1]);
        return fmt::format("((long long)((pg_u64)({}) {} (pg_u64)({})))", x[0], op, x[1]);
    };
    std::string_view wn = ctype_name(w);
    std::string text;
    switch (e->op) {
        case Op::Add: text = arith("+"); break;
        case Op::Sub: text = arith("-"); break;
        case Op::Mul: text = arith("*"); break;
        case Op::Min: text = fmt::format("pg_imin<{}>({}, {})", wn, x[0], x[1]); break;
        case Op::Max: text = fmt::format("pg_imax<{}>({}, {})", wn, x[0], x[1]); break;
        case Op::Neg: text = fmt::format("(-{})", x[0]); break;
        case Op::Abs: text = fmt::format("pg_imax<{}>({}, -{})", wn, x[0], x[0]); break;
        case Op::Relu: text = fmt::format("pg_imax<{}>({}, 0)", wn, x[0]); break;
        default: PG_UNREACHABLE("kernel {}: {} on i64", k_.name, op_name(e->op));
    }
    return coerce(text, w, r);
}

std::string ExprWriter::compute(const kir::ExprRef& e) const {
    const Op op = e->op;
    const std::vector<kir::ExprRef>& a = e->args;
    PG_ASSERT(static_cast<int>(a.size()) == op_arity(op), "kernel {}: {} with {} operands", k_.name, op_name(op),
              a.size());
    const DType t = e->dtype, at = a[0]->dtype;
    if (op == Op::Cast) {
        std::string v = expr(a[0]);
        if (!is_float(at) && at != DType::boolean) v = coerce(v, type_of(a[0]), CType::I64);
        std::string c = convert(v, at, t);
        return is_float(t) || t == DType::boolean ? c : coerce(c, CType::I64, type_of(e));
    }
    if (op == Op::Select) {
        if (!is_int_type(type_of(e))) return fmt::format("({} ? {} : {})", expr(a[0]), expr(a[1]), expr(a[2]));
        CType w = wider(wider(type_of(e), type_of(a[1])), type_of(a[2]));
        return coerce(fmt::format("({} ? {} : {})", expr(a[0]), expr_as(a[1], w), expr_as(a[2], w)), w, type_of(e));
    }
    bool index_arith = op == Op::Add || op == Op::Sub || op == Op::Mul || op == Op::Min || op == Op::Max ||
                       op == Op::Neg || op == Op::Abs || op == Op::Relu;
    if (t == DType::i64 && index_arith) return int_arith(e);
    if (is_comparison(op)) {
        const char* sym = op == Op::Lt ? "<" : op == Op::Le ? "<=" : op == Op::Gt ? ">" : op == Op::Ge ? ">=" : op == Op::Eq ? "==" : "!=";
        if (is_float(at) || at == DType::boolean) return fmt::format("({} {} {})", expr(a[0]), sym, expr(a[1]));
        CType w = wider(type_of(a[0]), type_of(a[1]));
        return fmt::format("({} {} {})", expr_as(a[0], w), sym, expr_as(a[1], w));
    }
    if (op_kind(op) == OpKind::Binary) {
        std::string r = binary(op, expr(a[0]), type_of(a[0]), expr(a[1]), type_of(a[1]), t);
        return is_int_type(type_of(e)) ? coerce(r, CType::I64, type_of(e)) : r;
    }
    // Unary.
    std::string x = expr(a[0]);
    if (t == DType::boolean) {
        PG_ASSERT(op == Op::Not, "kernel {}: {} on bool", k_.name, op_name(op));
        return fmt::format("(!{})", x);
    }
    if (!is_float(t)) {
        std::string v = coerce(x, type_of(a[0]), CType::I64);
        switch (op) {
            case Op::Neg: return wrap_int(fmt::format("((long long)(0ull - (pg_u64)({})))", v), t);
            case Op::Abs: return wrap_int(fmt::format("pg_imax<long long>({}, -{})", v, v), t);
            case Op::Relu: return wrap_int(fmt::format("pg_imax<long long>({}, 0LL)", v), t);
            default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
        }
    }
    std::string r;
    switch (op) {
        case Op::Neg: r = fmt::format("(-{})", x); break;
        case Op::Exp: r = fmt::format("expf({})", x); break;
        case Op::Log: r = fmt::format("logf({})", x); break;
        case Op::Tanh: r = fmt::format("tanhf({})", x); break;
        case Op::Sigmoid: r = fmt::format("(1.0f / (1.0f + expf(-{})))", x); break;
        case Op::Sqrt: r = fmt::format("sqrtf({})", x); break;
        case Op::Rsqrt: r = fmt::format("(1.0f / sqrtf({}))", x); break;
        case Op::Abs: r = fmt::format("fabsf({})", x); break;
        case Op::Relu: r = fmt::format("pg_relu({})", x); break;
        case Op::Sin: r = fmt::format("sinf({})", x); break;
        case Op::Cos: r = fmt::format("cosf({})", x); break;
        case Op::Recip: r = fmt::format("(1.0f / {})", x); break;
        default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
    }
    return selects_operand(op) ? r : round_to(r, t);
}

}  // namespace pg::cuda
