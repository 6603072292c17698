// CUDA C++ text for kir expressions and the value conversions around memory accesses: the part
// of the CUDA renderer that fixes value semantics (see cuda_renderer.h). Every rendered
// expression has a definite C type (CType): float for f32/bf16/f16 values, bool, int for i64
// index arithmetic whose range provably fits 32 bits (kir_index.h), long long for other integers.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/kir_index.h"
#include "codegen/kir.h"

namespace pg::cuda {

enum class CType { Float, Bool, I32, I64 };

std::string_view ctype_name(CType t);
// The C type of a buffer element in memory: float, pg_u16 (bf16/f16/u16), long long, int, pg_u8.
std::string_view memory_type(DType t);

// Whether `text` contains the identifier `name` as a whole word (rendered code that declares a
// var only where it is used: no unused-variable warnings).
bool mentions_identifier(const std::string& text, const std::string& name);

class ExprWriter {
public:
    ExprWriter(const kir::Kernel& k, const IndexInfo& ix);

    CType type_of(const kir::ExprRef& e) const;
    CType var_type(int var) const;
    // A C identifier for kir var `var`.
    std::string var_name(int var) const;

    std::string expr(const kir::ExprRef& e) const;
    // `text` of C type `from` as C type `to` (integers only; identity otherwise).
    static std::string coerce(const std::string& text, CType from, CType to);

    // The value of `v` (of kir dtype `from`, rendered as `text`) converted to dtype `to`, as the
    // reference converts (rounding to bf16/f16, truncating and wrapping integers).
    std::string convert(const std::string& text, DType from, DType to) const;
    // op(a, b) on values of dtype t, rounded/wrapped to t; a and b are rendered values of dtype t.
    std::string binary(Op op, const std::string& a, CType at, const std::string& b, CType bt, DType t) const;

    // The value of element `raw` (an lvalue of memory_type(t)) of a dtype-t buffer.
    static std::string from_memory(const std::string& raw, DType t);
    // The memory representation of value `v` (of C type vt) for a dtype-t buffer.
    static std::string to_memory(const std::string& v, CType vt, DType t);
    // A statement adding value `v` to element `index` of buffer `buffer` atomically.
    std::string atomic_add(int buffer, const std::string& index, const std::string& v, CType vt) const;

    // Replaces the rendering of particular loads (the vectorised mode reads them from registers):
    // returns the raw memory lvalue to read instead, or nullopt to load normally.
    std::function<std::optional<std::string>(const kir::Expr& load)> load_override;

    // A float literal that parses back to exactly `v` (as f32).
    static std::string float_literal(double v);

private:
    std::string constant(const kir::Expr& e, CType t) const;
    // expr(e) as C type t (an integer constant is written in t directly).
    std::string expr_as(const kir::ExprRef& e, CType t) const;
    std::string compute(const kir::ExprRef& e) const;
    std::string int_arith(const kir::ExprRef& e) const;
    std::string index_div(const kir::ExprRef& e) const;
    std::string round_to(const std::string& v, DType t) const;

    const kir::Kernel& k_;
    const IndexInfo& ix_;
    std::vector<std::string> names_;  // per var
};

}  // namespace pg::cuda
