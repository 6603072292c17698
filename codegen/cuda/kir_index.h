// Static facts about the i64 index arithmetic of a kir kernel, for the CUDA renderer:
//   - value ranges (interval arithmetic over loop extents), so that index expressions whose
//     values provably fit 32 bits are computed in 32-bit registers (64-bit integer division and
//     multiplication cost several instructions each on a GPU);
//   - affine forms (constant + sum of coefficient * loop var), so that loads and stores can be
//     recognised as contiguous along a loop and vectorised.
// Lets are SSA, so a Let var stands for its value in both analyses.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "codegen/kir.h"

namespace pg::cuda {

// Bounds at or beyond +-kUnbounded mean "unknown on that side".
inline constexpr int64_t kUnbounded = int64_t{1} << 62;

struct Range {
    int64_t lo = -kUnbounded, hi = kUnbounded;
    bool fits_i32() const { return lo >= INT32_MIN && hi <= INT32_MAX; }
    bool non_negative() const { return lo >= 0; }
};

// value = constant + sum(coeff[var] * var) over loop vars.
struct Affine {
    int64_t constant = 0;
    std::map<int, int64_t> coeff;
    int64_t coeff_of(int var) const {
        auto it = coeff.find(var);
        return it == coeff.end() ? 0 : it->second;
    }
    bool operator<(const Affine& o) const {
        return constant != o.constant ? constant < o.constant : coeff < o.coeff;
    }
};

class IndexInfo {
public:
    explicit IndexInfo(const kir::Kernel& k);

    Range range(const kir::ExprRef& e) const;
    Range var_range(int var) const { return var_range_.at(static_cast<size_t>(var)); }
    // An i64 expression or var whose values all fit in int32.
    bool is_i32(const kir::ExprRef& e) const { return e->dtype == DType::i64 && range(e).fits_i32(); }
    bool var_is_i32(int var) const;

    std::optional<Affine> affine(const kir::ExprRef& e) const;

    bool is_loop_var(int var) const { return loop_extent_.at(static_cast<size_t>(var)) > 0; }

private:
    void scan(const std::vector<kir::Stmt>& body);
    Range compute_range(const kir::Expr& e) const;
    std::optional<Affine> compute_affine(const kir::Expr& e) const;

    const kir::Kernel& k_;
    std::vector<Range> var_range_;
    std::vector<int64_t> loop_extent_;         // > 0 for loop vars
    std::vector<const kir::Expr*> let_value_;  // the value of a Let var, else null
    mutable std::unordered_map<const kir::Expr*, Range> range_memo_;
    mutable std::unordered_map<const kir::Expr*, std::optional<Affine>> affine_memo_;
};

}  // namespace pg::cuda
