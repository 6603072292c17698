// Inline, branch-free f32 transcendental functions for the LLVM renderer. Each emitter appends
// straight-line IR (fmul/fadd/llvm.fmuladd, integer bit manipulation, selects, and for Pow/Sin/Cos
// some f64 arithmetic and one constant table) at the builder's insertion point, so a loop that
// uses them stays vectorizable: the loop vectorizer widens every instruction, where a call to
// expf/logf/tanhf would be scalarised into one libm call per lane.
//
// Semantics are those of the reference interpreter (graph/interpreter_ops.cpp): the fp64 function
// rounded to f32. Maximum relative error against the fp64 result over all 2^32 inputs (normal
// results; measured exhaustively on the JIT-compiled code, AVX-512 host with FMA / x86-64
// baseline without it, where llvm.fmuladd is a multiply and an add):
//   exp 8.5e-8 / 8.1e-8, log 8.7e-8 / 8.7e-8, tanh 8.1e-8 / 1.08e-7, sigmoid 1.21e-7 / 1.76e-7,
//   sin and cos 5.96e-8 (f32 rounding, 2^-24, is 6.0e-8; 2 ulp is 2.4e-7).
// pow, sin and cos compute in f64 and are correctly rounded except within ~1e-13 of a rounding
// tie. Results the reference gives as f32 subnormals (exp, sigmoid, pow) are subnormals here too,
// within 0.75 of a subnormal unit: no flush to zero. Special values follow C: NaN propagates,
// exp(-inf) = 0, exp overflow = inf, log(+-0) = -inf, log(<0) = NaN, tanh(+-inf) = +-1,
// sin/cos(+-inf) = NaN, signed zeros kept (tanh, sin), pow per C99 Annex F.
#pragma once

namespace llvm {
class IRBuilderBase;
class Value;
}  // namespace llvm

namespace pg {

// Every argument and result is an f32 scalar llvm::Value.
llvm::Value* emit_exp(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_log(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_tanh(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_sigmoid(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_sin(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_cos(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emit_pow(llvm::IRBuilderBase& b, llvm::Value* a, llvm::Value* y);

}  // namespace pg
