// Interval and affine analysis of kir index expressions (see kir_index.h).
#include "codegen/cuda/kir_index.h"

#include <algorithm>

#include "base/error.h"

namespace pg::cuda {
namespace {

int64_t saturate(__int128 v) {
    if (v >= kUnbounded) return kUnbounded;
    if (v <= -kUnbounded) return -kUnbounded;
    return static_cast<int64_t>(v);
}

bool bounded(const Range& r) { return r.lo > -kUnbounded && r.hi < kUnbounded; }

Range add(const Range& a, const Range& b) {
    Range r;
    r.lo = (a.lo <= -kUnbounded || b.lo <= -kUnbounded) ? -kUnbounded : saturate(static_cast<__int128>(a.lo) + b.lo);
    r.hi = (a.hi >= kUnbounded || b.hi >= kUnbounded) ? kUnbounded : saturate(static_cast<__int128>(a.hi) + b.hi);
    return r;
}

Range neg(const Range& a) { return {a.hi >= kUnbounded ? -kUnbounded : -a.hi, a.lo <= -kUnbounded ? kUnbounded : -a.lo}; }

Range mul(const Range& a, const Range& b) {
    if ((a.lo == 0 && a.hi == 0) || (b.lo == 0 && b.hi == 0)) return {0, 0};
    if (!bounded(a) || !bounded(b)) return {};
    __int128 p[4] = {static_cast<__int128>(a.lo) * b.lo, static_cast<__int128>(a.lo) * b.hi,
                     static_cast<__int128>(a.hi) * b.lo, static_cast<__int128>(a.hi) * b.hi};
    return {saturate(*std::min_element(p, p + 4)), saturate(*std::max_element(p, p + 4))};
}

Range dtype_range(DType t) {
    switch (t) {
        case DType::boolean: return {0, 1};
        case DType::u8: return {0, 255};
        case DType::u16: return {0, 65535};
        case DType::i32: return {INT32_MIN, INT32_MAX};
        default: return {};
    }
}

}  // namespace

IndexInfo::IndexInfo(const kir::Kernel& k)
    : k_(k), var_range_(k.vars.size()), loop_extent_(k.vars.size(), 0), let_value_(k.vars.size(), nullptr) {
    scan(k.body);
}

void IndexInfo::scan(const std::vector<kir::Stmt>& body) {
    for (const kir::Stmt& s : body) {
        switch (s.kind) {
            case kir::StmtKind::Loop:
                loop_extent_[s.var] = std::max<int64_t>(s.extent, 1);
                var_range_[s.var] = {0, std::max<int64_t>(s.extent - 1, 0)};
                scan(s.body);
                break;
            case kir::StmtKind::Let:
                let_value_[s.var] = s.value.get();
                var_range_[s.var] = range(s.value);
                break;
            case kir::StmtKind::AccInit: var_range_[s.var] = dtype_range(k_.vars[s.var].dtype); break;
            default: break;
        }
    }
}

bool IndexInfo::var_is_i32(int var) const {
    return k_.vars.at(static_cast<size_t>(var)).dtype == DType::i64 && var_range_.at(static_cast<size_t>(var)).fits_i32();
}

Range IndexInfo::range(const kir::ExprRef& e) const {
    auto it = range_memo_.find(e.get());
    if (it != range_memo_.end()) return it->second;
    Range r = compute_range(*e);
    range_memo_.emplace(e.get(), r);
    return r;
}

Range IndexInfo::compute_range(const kir::Expr& e) const {
    switch (e.kind) {
        case kir::ExprKind::Const: {
            if (e.dtype == DType::boolean) return {e.value != 0 ? 1 : 0, e.value != 0 ? 1 : 0};
            if (is_float(e.dtype)) return {};
            auto v = static_cast<int64_t>(e.value);
            return {v, v};
        }
        case kir::ExprKind::Var: return var_range_.at(static_cast<size_t>(e.var));
        case kir::ExprKind::Load: return dtype_range(e.dtype);
        case kir::ExprKind::IDiv: {
            Range a = range(e.args[0]), b = range(e.args[1]);
            if (!a.non_negative() || b.lo < 1) return {0, a.hi};
            return {a.lo / b.hi, a.hi >= kUnbounded ? kUnbounded : a.hi / b.lo};
        }
        case kir::ExprKind::IMod: {
            Range a = range(e.args[0]), b = range(e.args[1]);
            if (a.non_negative() && b.lo >= 1 && a.hi < b.lo) return a;
            return {0, b.hi >= kUnbounded ? kUnbounded : std::max<int64_t>(b.hi - 1, 0)};
        }
        case kir::ExprKind::Compute: break;
    }
    if (e.dtype != DType::i64) return dtype_range(e.dtype);
    auto arg = [&](size_t i) { return range(e.args[i]); };
    switch (e.op) {
        case Op::Add: return add(arg(0), arg(1));
        case Op::Sub: return add(arg(0), neg(arg(1)));
        case Op::Mul: return mul(arg(0), arg(1));
        case Op::Neg: return neg(arg(0));
        case Op::Min: return {std::min(arg(0).lo, arg(1).lo), std::min(arg(0).hi, arg(1).hi)};
        case Op::Max: return {std::max(arg(0).lo, arg(1).lo), std::max(arg(0).hi, arg(1).hi)};
        case Op::Relu: return {std::max<int64_t>(arg(0).lo, 0), std::max<int64_t>(arg(0).hi, 0)};
        case Op::Abs: {
            Range a = arg(0);
            if (a.non_negative()) return a;
            Range n = neg(a);
            return {0, std::max(n.hi, a.hi)};
        }
        case Op::Select: return {std::min(arg(1).lo, arg(2).lo), std::max(arg(1).hi, arg(2).hi)};
        case Op::Cast:
            if (e.args[0]->dtype == DType::boolean) return {0, 1};
            if (!is_float(e.args[0]->dtype)) return arg(0);
            return {};
        default: return {};
    }
}

std::optional<Affine> IndexInfo::affine(const kir::ExprRef& e) const {
    auto it = affine_memo_.find(e.get());
    if (it != affine_memo_.end()) return it->second;
    std::optional<Affine> a = compute_affine(*e);
    affine_memo_.emplace(e.get(), a);
    return a;
}

std::optional<Affine> IndexInfo::compute_affine(const kir::Expr& e) const {
    if (e.dtype != DType::i64) return std::nullopt;
    switch (e.kind) {
        case kir::ExprKind::Const: return Affine{static_cast<int64_t>(e.value), {}};
        case kir::ExprKind::Var: {
            if (is_loop_var(e.var)) return Affine{0, {{e.var, 1}}};
            const kir::Expr* v = let_value_.at(static_cast<size_t>(e.var));
            if (v == nullptr) return std::nullopt;
            return compute_affine(*v);
        }
        case kir::ExprKind::Compute: break;
        default: return std::nullopt;
    }
    auto scaled = [](Affine a, int64_t s) {
        a.constant *= s;
        for (auto& [v, c] : a.coeff) c *= s;
        return a;
    };
    switch (e.op) {
        case Op::Add:
        case Op::Sub: {
            auto a = affine(e.args[0]), b = affine(e.args[1]);
            if (!a || !b) return std::nullopt;
            Affine r = *a;
            int64_t sign = e.op == Op::Add ? 1 : -1;
            r.constant += sign * b->constant;
            for (auto& [v, c] : b->coeff) r.coeff[v] += sign * c;
            std::erase_if(r.coeff, [](const auto& kv) { return kv.second == 0; });
            return r;
        }
        case Op::Mul: {
            auto a = affine(e.args[0]), b = affine(e.args[1]);
            if (!a || !b) return std::nullopt;
            if (b->coeff.empty()) return scaled(*a, b->constant);
            if (a->coeff.empty()) return scaled(*b, a->constant);
            return std::nullopt;
        }
        case Op::Neg: {
            auto a = affine(e.args[0]);
            if (!a) return std::nullopt;
            return scaled(*a, -1);
        }
        default: return std::nullopt;
    }
}

}  // namespace pg::cuda
