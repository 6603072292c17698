// kir -> LLVM IR (see llvm_renderer.h for the value representation).
//
// Aliasing: every buffer gets its own alias scope, and each load/store carries !alias.scope of its
// buffer and !noalias of all others. That is sound because buffers of one kernel never overlap,
// with one exception the runtime may use: a written buffer and a read buffer bound to the same
// memory where each element is read before it is written at the same index (in-place
// elementwise). Reordering accesses of *different* indices across such a pair cannot change a
// result, so the scopes stay sound, and they are what lets the loop vectorizer skip runtime
// overlap checks. A buffer both loaded and stored in the kernel is one scope, so its own accesses
// are never reordered.
//
// Reductions: AccUpdate Add on floats carries `reassoc` and AccUpdate Max uses maxnum with
// `nnan nsz`, the forms LLVM 14 recognises as vectorizable reductions. To keep the reference's NaN
// propagation a float Max accumulator also or-reduces an "any NaN seen" flag (itself a
// vectorizable i1 reduction) and reads as NaN once the flag is set.
//
// Transcendentals (exp, log, tanh, sigmoid, sin, cos, pow) are inline straight-line IR from
// llvm_math.h rather than libm calls, which the vectorizer could only scalarise lane by lane.
#include "codegen/llvm/llvm_renderer.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <limits>
#include <unordered_map>

#include "base/dump.h"
#include "base/error.h"
#include "codegen/llvm/llvm_math.h"

namespace pg {
namespace {

using llvm::Value;
using kir::ExprKind;
using kir::StmtKind;

class Renderer {
public:
    Renderer(const kir::Kernel& k, llvm::LLVMContext& ctx)
        : k_(k), ctx_(ctx), m_(std::make_unique<llvm::Module>(k.name, ctx)), b_(ctx) {
        f32_ = b_.getFloatTy();
        i64_ = b_.getInt64Ty();
        i32_ = b_.getInt32Ty();
    }

    std::unique_ptr<llvm::Module> run() {
        create_function();
        scan_accumulators(k_.body);
        memo_.emplace_back();
        stmts(k_.body, true);
        b_.CreateRetVoid();
        std::string err;
        llvm::raw_string_ostream os(err);
        PG_ASSERT(!llvm::verifyModule(*m_, &os), "LLVM rendering of kernel {} is invalid: {}\n{}", k_.name, os.str(),
                  kir::to_string(k_));
        return std::move(m_);
    }

private:
    const kir::Kernel& k_;
    llvm::LLVMContext& ctx_;
    std::unique_ptr<llvm::Module> m_;
    llvm::IRBuilder<> b_;
    llvm::Function* fn_ = nullptr;
    llvm::Type *f32_, *i64_, *i32_;
    Value *begin_ = nullptr, *end_ = nullptr;
    std::vector<Value*> buffers_;                                  // typed element pointers
    std::vector<llvm::MDNode*> scope_, noalias_;                    // per buffer
    std::vector<Value*> values_;                                   // loop vars and Lets
    std::vector<llvm::AllocaInst*> acc_, acc_nan_;                 // accumulators (+ NaN flags)
    std::vector<bool> acc_has_max_;
    std::vector<std::unordered_map<const kir::Expr*, Value*>> memo_;  // per loop scope

    // ---- types ----
    llvm::Type* compute_type(DType t) {
        if (is_float(t)) return f32_;
        if (t == DType::boolean) return b_.getInt1Ty();
        return i64_;
    }
    llvm::Type* memory_type(DType t) {
        switch (t) {
            case DType::f32: return f32_;
            case DType::bf16:
            case DType::f16:
            case DType::u16: return b_.getInt16Ty();
            case DType::i64: return i64_;
            case DType::i32: return i32_;
            case DType::u8:
            case DType::boolean: return b_.getInt8Ty();
        }
        PG_UNREACHABLE();
    }
    llvm::ConstantInt* u32(uint32_t v) { return b_.getInt32(v); }
    Value* bits(Value* f) { return b_.CreateBitCast(f, i32_); }
    Value* as_float(Value* i) { return b_.CreateBitCast(i, f32_); }

    // ---- rounding ----
    // Round-to-nearest-even of an f32 to bf16, as f32_to_bf16_bits (NaNs become quiet NaNs).
    Value* round_bf16(Value* f) {
        Value* x = bits(f);
        Value* lsb = b_.CreateAnd(b_.CreateLShr(x, 16), u32(1));
        Value* rounded = b_.CreateAnd(b_.CreateAdd(b_.CreateAdd(x, u32(0x7fff)), lsb), u32(0xffff0000u));
        Value* nan_bits = b_.CreateOr(b_.CreateAnd(x, u32(0xffff0000u)), u32(0x00400000));
        return as_float(b_.CreateSelect(b_.CreateFCmpUNO(f, f), nan_bits, rounded));
    }
    // f32 -> IEEE half bits (low 16 bits of an i32), round-to-nearest-even, branch-free so that it
    // vectorizes (F. Giesen's float_to_half_fast3_rtne). Bit arithmetic instead of fptrunc because
    // LLVM 14 lowers half conversions without F16C to __gnu_f2h_ieee calls libgcc lacks.
    Value* f32_to_f16_bits(Value* f) {
        Value* x = bits(f);
        Value* sign = b_.CreateAnd(x, u32(0x80000000u));
        Value* a = b_.CreateXor(x, sign);
        Value* inf_nan = b_.CreateSelect(b_.CreateICmpUGT(a, u32(0x7f800000)), u32(0x7e00), u32(0x7c00));
        // Subnormal halves: adding 0.5f aligns the 10 mantissa bits at the bottom, rounding RNE.
        Value* sub = b_.CreateSub(bits(b_.CreateFAdd(as_float(a), llvm::ConstantFP::get(f32_, 0.5))), u32(0x3f000000));
        Value* odd = b_.CreateAnd(b_.CreateLShr(a, 13), u32(1));
        Value* norm = b_.CreateLShr(b_.CreateAdd(b_.CreateAdd(a, u32(0xc8000fffu)), odd), 13);
        Value* finite = b_.CreateSelect(b_.CreateICmpULT(a, u32(0x38800000)), sub, norm);
        Value* h = b_.CreateSelect(b_.CreateICmpUGE(a, u32(0x47800000)), inf_nan, finite);
        return b_.CreateOr(h, b_.CreateLShr(sign, 16));
    }
    // IEEE half bits (low 16 bits of an i32) -> f32, exact (F. Giesen's half_to_float).
    Value* f16_bits_to_f32(Value* h) {
        Value* o = b_.CreateShl(b_.CreateAnd(h, u32(0x7fff)), 13);
        Value* exp = b_.CreateAnd(o, u32(0x0f800000));
        o = b_.CreateAdd(o, u32(0x38000000));
        Value* inf_nan = b_.CreateAdd(o, u32(0x38000000));
        Value* denorm = bits(b_.CreateFSub(as_float(b_.CreateAdd(o, u32(0x00800000))),
                                           llvm::ConstantFP::get(f32_, 6.103515625e-05)));
        Value* r = b_.CreateSelect(b_.CreateICmpEQ(exp, u32(0x0f800000)), inf_nan,
                                   b_.CreateSelect(b_.CreateICmpEQ(exp, u32(0)), denorm, o));
        return as_float(b_.CreateOr(r, b_.CreateShl(b_.CreateAnd(h, u32(0x8000)), 16)));
    }
    // The value an op result of dtype t holds: bf16/f16 rounding, integer wrap-around.
    Value* round_to(Value* v, DType t) {
        switch (t) {
            case DType::bf16: return round_bf16(v);
            case DType::f16: return f16_bits_to_f32(f32_to_f16_bits(v));
            case DType::i32: return b_.CreateSExt(b_.CreateTrunc(v, i32_), i64_);
            case DType::u16: return b_.CreateZExt(b_.CreateTrunc(v, b_.getInt16Ty()), i64_);
            case DType::u8: return b_.CreateZExt(b_.CreateTrunc(v, b_.getInt8Ty()), i64_);
            case DType::f32:
            case DType::i64:
            case DType::boolean: return v;
        }
        PG_UNREACHABLE();
    }

    // ---- memory ----
    llvm::Instruction* tag(llvm::Instruction* inst, int buffer) {
        inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_[buffer]);
        inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_[buffer]);
        return inst;
    }
    Value* element_ptr(int buffer, Value* index) {
        return b_.CreateInBoundsGEP(memory_type(k_.buffers[buffer].dtype), buffers_[buffer], index);
    }
    Value* load_buffer(int buffer, Value* index) {
        DType t = k_.buffers[buffer].dtype;
        llvm::Type* mt = memory_type(t);
        Value* raw = tag(b_.CreateAlignedLoad(mt, element_ptr(buffer, index), llvm::Align(dtype_size(t))), buffer);
        switch (t) {
            case DType::f32:
            case DType::i64: return raw;
            case DType::bf16: return as_float(b_.CreateShl(b_.CreateZExt(raw, i32_), 16));
            case DType::f16: return f16_bits_to_f32(b_.CreateZExt(raw, i32_));
            case DType::i32: return b_.CreateSExt(raw, i64_);
            case DType::u16:
            case DType::u8: return b_.CreateZExt(raw, i64_);
            case DType::boolean: return b_.CreateICmpNE(raw, b_.getInt8(0));
        }
        PG_UNREACHABLE();
    }
    // v holds an exact value of the buffer's dtype (every op rounds), so narrowing is exact.
    void store_buffer(int buffer, Value* index, Value* v) {
        DType t = k_.buffers[buffer].dtype;
        Value* raw = nullptr;
        switch (t) {
            case DType::f32:
            case DType::i64: raw = v; break;
            case DType::bf16: raw = b_.CreateTrunc(b_.CreateLShr(bits(v), 16), b_.getInt16Ty()); break;
            case DType::f16: raw = b_.CreateTrunc(f32_to_f16_bits(v), b_.getInt16Ty()); break;
            case DType::i32:
            case DType::u16:
            case DType::u8: raw = b_.CreateTrunc(v, memory_type(t)); break;
            case DType::boolean: raw = b_.CreateZExt(v, b_.getInt8Ty()); break;
        }
        tag(b_.CreateAlignedStore(raw, element_ptr(buffer, index), llvm::Align(dtype_size(t))), buffer);
    }

    // ---- conversions ----
    Value* convert(Value* v, DType from, DType to) {
        if (from == to) return v;
        if (to == DType::boolean) {
            if (is_float(from)) return b_.CreateFCmpUNE(v, llvm::ConstantFP::get(f32_, 0.0));
            return b_.CreateICmpNE(v, b_.getInt64(0));
        }
        if (is_float(to)) {
            if (from == DType::boolean) v = b_.CreateUIToFP(v, f32_);
            else if (!is_float(from)) v = b_.CreateSIToFP(v, f32_);
            return round_to(v, to);  // bf16/f16 -> f32 is exact: round_to is the identity then
        }
        // Integer target. fptosi.sat truncates toward zero like the reference's static_cast and is
        // defined (saturating, NaN -> 0) where a plain fptosi would be poison.
        if (from == DType::boolean) v = b_.CreateZExt(v, i64_);
        else if (is_float(from))
            v = b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64_, f32_}, {v});
        return round_to(v, to);
    }

    // ---- expressions ----
    Value* intrinsic(llvm::Intrinsic::ID id, std::vector<Value*> args) {
        return b_.CreateIntrinsic(id, {args[0]->getType()}, args);
    }
    Value* fconst(double v) { return llvm::ConstantFP::get(f32_, v); }
    // NaN-propagating max/min of the reference: isnan(a) || a > b ? a : b.
    Value* max_nan(Value* a, Value* x, bool is_max) {
        Value* pick_a = b_.CreateOr(b_.CreateFCmpUNO(a, a), is_max ? b_.CreateFCmpOGT(a, x) : b_.CreateFCmpOLT(a, x));
        return b_.CreateSelect(pick_a, a, x);
    }

    Value* unary(Op op, Value* x, DType t) {
        if (t == DType::boolean) {
            PG_ASSERT(op == Op::Not, "kernel {}: {} on bool", k_.name, op_name(op));
            return b_.CreateNot(x);
        }
        if (!is_float(t)) {
            switch (op) {
                case Op::Neg: return b_.CreateNeg(x);
                case Op::Abs: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b_.getFalse());
                case Op::Relu: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, b_.getInt64(0));
                default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
            }
        }
        switch (op) {
            case Op::Neg: return b_.CreateFNeg(x);
            case Op::Exp: return emit_exp(b_, x);
            case Op::Log: return emit_log(b_, x);
            case Op::Tanh: return emit_tanh(b_, x);
            case Op::Sigmoid: return emit_sigmoid(b_, x);
            case Op::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, {x});
            case Op::Rsqrt: return b_.CreateFDiv(fconst(1.0), intrinsic(llvm::Intrinsic::sqrt, {x}));
            case Op::Abs: return intrinsic(llvm::Intrinsic::fabs, {x});
            case Op::Relu: return b_.CreateSelect(b_.CreateFCmpUGT(x, fconst(0.0)), x, fconst(0.0));
            case Op::Sin: return emit_sin(b_, x);
            case Op::Cos: return emit_cos(b_, x);
            case Op::Recip: return b_.CreateFDiv(fconst(1.0), x);
            default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
        }
    }

    Value* comparison(Op op, Value* a, Value* x, DType t) {
        using P = llvm::CmpInst::Predicate;
        bool fl = is_float(t), un = t == DType::boolean;  // bool compares as unsigned 0/1
        P p;
        switch (op) {
            case Op::Lt: p = fl ? P::FCMP_OLT : un ? P::ICMP_ULT : P::ICMP_SLT; break;
            case Op::Le: p = fl ? P::FCMP_OLE : un ? P::ICMP_ULE : P::ICMP_SLE; break;
            case Op::Gt: p = fl ? P::FCMP_OGT : un ? P::ICMP_UGT : P::ICMP_SGT; break;
            case Op::Ge: p = fl ? P::FCMP_OGE : un ? P::ICMP_UGE : P::ICMP_SGE; break;
            case Op::Eq: p = fl ? P::FCMP_OEQ : P::ICMP_EQ; break;
            case Op::Ne: p = fl ? P::FCMP_UNE : P::ICMP_NE; break;  // NaN != x holds, as in C++
            default: PG_UNREACHABLE();
        }
        return fl ? b_.CreateFCmp(p, a, x) : b_.CreateICmp(p, a, x);
    }

    // Integer division truncating toward zero; a zero divisor yields 0 and INT64_MIN / -1 wraps,
    // where a bare sdiv would raise SIGFPE.
    Value* safe_sdiv(Value* a, Value* x) {
        Value* zero = b_.CreateICmpEQ(x, b_.getInt64(0));
        Value* minus_one = b_.CreateICmpEQ(x, b_.getInt64(-1));
        Value* q = b_.CreateSDiv(a, b_.CreateSelect(b_.CreateOr(zero, minus_one), b_.getInt64(1), x));
        q = b_.CreateSelect(minus_one, b_.CreateNeg(a), q);
        return b_.CreateSelect(zero, b_.getInt64(0), q);
    }

    Value* binary(Op op, Value* a, Value* x, DType t) {
        if (is_comparison(op)) return comparison(op, a, x, t);
        if (t == DType::boolean) {
            switch (op) {
                case Op::And:
                case Op::Min: return b_.CreateAnd(a, x);
                case Op::Or:
                case Op::Max: return b_.CreateOr(a, x);
                default: PG_UNREACHABLE("kernel {}: {} on bool", k_.name, op_name(op));
            }
        }
        if (is_float(t)) {
            switch (op) {
                case Op::Add: return b_.CreateFAdd(a, x);
                case Op::Sub: return b_.CreateFSub(a, x);
                case Op::Mul: return b_.CreateFMul(a, x);
                case Op::Div: return b_.CreateFDiv(a, x);
                case Op::Max: return max_nan(a, x, true);
                case Op::Min: return max_nan(a, x, false);
                case Op::Pow: return emit_pow(b_, a, x);
                default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
            }
        }
        // Integers live in i64. nsw: narrower dtypes cannot overflow i64 before their wrap, and
        // i64 values are indices or integers the reference holds exactly (|v| < 2^53); it lets
        // SCEV prove index expressions consecutive, which the vectorizer needs.
        switch (op) {
            case Op::Add: return b_.CreateNSWAdd(a, x);
            case Op::Sub: return b_.CreateNSWSub(a, x);
            case Op::Mul: return b_.CreateNSWMul(a, x);
            case Op::Div: return safe_sdiv(a, x);
            case Op::Max: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, x);
            case Op::Min: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, x);
            default: PG_UNREACHABLE("kernel {}: {} on {}", k_.name, op_name(op), dtype_name(t));
        }
    }

    // Float ops whose result is an operand, its negation or zero: exact in the operands' dtype,
    // so the bf16/f16 rounding (a dozen instructions) would be a no-op.
    static bool selects_operand(Op op, DType t) {
        return is_float(t) && (op == Op::Neg || op == Op::Abs || op == Op::Relu || op == Op::Max || op == Op::Min);
    }

    Value* compute(const kir::Expr& e) {
        std::vector<Value*> a;
        for (const kir::ExprRef& x : e.args) a.push_back(expr(x));
        PG_ASSERT(static_cast<int>(a.size()) == op_arity(e.op), "kernel {}: {} with {} operands", k_.name,
                  op_name(e.op), a.size());
        DType arg_t = e.args[0]->dtype;
        switch (op_kind(e.op)) {
            case OpKind::Unary:
                if (e.op == Op::Cast) return convert(a[0], arg_t, e.dtype);
                if (selects_operand(e.op, e.dtype)) return unary(e.op, a[0], arg_t);
                return round_to(unary(e.op, a[0], arg_t), e.dtype);
            case OpKind::Binary:
                if (selects_operand(e.op, e.dtype)) return binary(e.op, a[0], a[1], arg_t);
                return round_to(binary(e.op, a[0], a[1], arg_t), e.dtype);
            case OpKind::Ternary: return b_.CreateSelect(a[0], a[1], a[2]);
            default: PG_UNREACHABLE("kernel {}: {} is not elementwise", k_.name, op_name(e.op));
        }
    }

    Value* constant(const kir::Expr& e) {
        if (is_float(e.dtype)) return fconst(e.value);
        if (e.dtype == DType::boolean) return b_.getInt1(e.value != 0);
        return b_.getInt64(static_cast<uint64_t>(static_cast<int64_t>(e.value)));
    }

    Value* read_var(int v) {
        if (acc_[v] == nullptr) {
            PG_ASSERT(values_[v] != nullptr, "kernel {}: var {} has no value", k_.name, k_.vars[v].name);
            return values_[v];
        }
        Value* x = b_.CreateLoad(acc_[v]->getAllocatedType(), acc_[v]);
        if (!acc_nan_[v]) return x;
        Value* nan = fconst(std::numeric_limits<double>::quiet_NaN());
        return b_.CreateSelect(b_.CreateLoad(b_.getInt1Ty(), acc_nan_[v]), nan, x);
    }

    Value* expr(const kir::ExprRef& e) {
        for (const auto& level : memo_)
            if (auto it = level.find(e.get()); it != level.end()) return it->second;
        Value* v = nullptr;
        switch (e->kind) {
            case ExprKind::Const: return constant(*e);
            case ExprKind::Var: v = read_var(e->var); break;
            case ExprKind::Load: v = load_buffer(e->buffer, expr(e->args[0])); break;
            case ExprKind::Compute: v = compute(*e); break;
            case ExprKind::IDiv: v = b_.CreateUDiv(expr(e->args[0]), expr(e->args[1])); break;  // non-negative
            case ExprKind::IMod: v = b_.CreateURem(expr(e->args[0]), expr(e->args[1])); break;
        }
        memo_.back().emplace(e.get(), v);
        return v;
    }

    // Memoised values that read memory or accumulators are stale after a write.
    void forget_memory_reads() {
        for (auto& level : memo_) level.clear();
    }

    // ---- statements ----
    void scan_accumulators(const std::vector<kir::Stmt>& body) {
        for (const kir::Stmt& s : body) {
            if (s.kind == StmtKind::Loop) scan_accumulators(s.body);
            if (s.kind == StmtKind::AccUpdate && s.op == Op::Max && is_float(k_.vars[s.var].dtype))
                acc_has_max_[s.var] = true;
        }
    }

    llvm::AllocaInst* entry_alloca(llvm::Type* t, const std::string& name) {
        llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        return eb.CreateAlloca(t, nullptr, name);
    }

    void loop(const kir::Stmt& s, Value* lo, Value* hi) {
        const std::string& name = k_.vars[s.var].name;
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        auto* header = llvm::BasicBlock::Create(ctx_, name + ".header", fn_);
        auto* body = llvm::BasicBlock::Create(ctx_, name + ".body", fn_);
        auto* exit = llvm::BasicBlock::Create(ctx_, name + ".exit", fn_);
        b_.CreateBr(header);
        b_.SetInsertPoint(header);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2, name);
        i->addIncoming(lo, pre);
        b_.CreateCondBr(b_.CreateICmpSLT(i, hi), body, exit);
        b_.SetInsertPoint(body);
        values_[s.var] = i;
        memo_.emplace_back();
        stmts(s.body, false);
        memo_.pop_back();
        i->addIncoming(b_.CreateAdd(i, b_.getInt64(1), name + ".next", true, true), b_.GetInsertBlock());
        b_.CreateBr(header);
        b_.SetInsertPoint(exit);
    }

    void acc_update(const kir::Stmt& s) {
        DType t = k_.vars[s.var].dtype;
        Value* x = convert(expr(s.value), s.value->dtype, t);
        Value* cur = b_.CreateLoad(acc_[s.var]->getAllocatedType(), acc_[s.var]);
        Value* r = nullptr;
        if (is_float(t) && s.op == Op::Add) {
            llvm::FastMathFlags fmf;
            fmf.setAllowReassoc();
            {
                llvm::IRBuilder<>::FastMathFlagGuard guard(b_);
                b_.setFastMathFlags(fmf);
                r = b_.CreateFAdd(cur, x);
            }
            r = round_to(r, t);
        } else if (is_float(t)) {
            llvm::FastMathFlags fmf;
            fmf.setNoNaNs();
            fmf.setNoSignedZeros();
            llvm::CallInst* c = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, cur, x);
            c->setFastMathFlags(fmf);
            r = c;  // max of two exact values of t is exact: no rounding
            Value* seen = b_.CreateLoad(b_.getInt1Ty(), acc_nan_[s.var]);
            b_.CreateStore(b_.CreateOr(seen, b_.CreateFCmpUNO(x, x)), acc_nan_[s.var]);
        } else {
            r = round_to(binary(s.op, cur, x, t), t);
        }
        b_.CreateStore(r, acc_[s.var]);
    }

    void stmts(const std::vector<kir::Stmt>& body, bool top) {
        for (size_t n = 0; n < body.size(); ++n) {
            const kir::Stmt& s = body[n];
            switch (s.kind) {
                case StmtKind::Loop:
                    if (s.parallel && top && n == 0) {
                        // The runtime's chunk [begin, end), clamped to the loop's own range.
                        Value* lo = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, begin_, b_.getInt64(0));
                        Value* hi = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, end_, b_.getInt64(s.extent));
                        loop(s, lo, hi);
                    } else {
                        loop(s, b_.getInt64(0), b_.getInt64(s.extent));
                    }
                    break;
                case StmtKind::Let: values_[s.var] = expr(s.value); break;
                case StmtKind::Store: {
                    Value* v = expr(s.value);
                    store_buffer(s.buffer, expr(s.index), v);
                    forget_memory_reads();
                    break;
                }
                case StmtKind::StoreAdd: {
                    Value* index = expr(s.index);
                    Value* v = expr(s.value);
                    DType t = k_.buffers[s.buffer].dtype;
                    Value* old = load_buffer(s.buffer, index);
                    store_buffer(s.buffer, index, round_to(binary(Op::Add, old, v, t), t));
                    forget_memory_reads();
                    break;
                }
                case StmtKind::AccInit: {
                    DType t = k_.vars[s.var].dtype;
                    Value* init = convert(expr(s.value), s.value->dtype, t);
                    acc_[s.var] = entry_alloca(compute_type(t), k_.vars[s.var].name);
                    b_.CreateStore(init, acc_[s.var]);
                    if (acc_has_max_[s.var]) {
                        acc_nan_[s.var] = entry_alloca(b_.getInt1Ty(), k_.vars[s.var].name + ".nan");
                        b_.CreateStore(b_.CreateFCmpUNO(init, init), acc_nan_[s.var]);
                    }
                    break;
                }
                case StmtKind::AccUpdate:
                    acc_update(s);
                    forget_memory_reads();
                    break;
            }
        }
    }

    void create_function() {
        llvm::Type* ptr = b_.getInt8PtrTy();
        auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr->getPointerTo(), i64_, i64_}, false);
        fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, k_.name, m_.get());
        fn_->setDoesNotThrow();
        fn_->addParamAttr(0, llvm::Attribute::NoAlias);
        fn_->addParamAttr(0, llvm::Attribute::NoCapture);
        fn_->addParamAttr(0, llvm::Attribute::ReadOnly);
        auto args = fn_->arg_begin();
        Value* table = &*args++;
        begin_ = &*args++;
        end_ = &*args;
        table->setName("buffers");
        begin_->setName("begin");
        end_->setName("end");
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));

        llvm::MDBuilder mdb(ctx_);
        llvm::MDNode* domain = mdb.createAnonymousAliasScopeDomain(k_.name);
        std::vector<llvm::Metadata*> scopes;
        for (size_t i = 0; i < k_.buffers.size(); ++i) {
            const kir::BufferParam& bp = k_.buffers[i];
            scopes.push_back(mdb.createAnonymousAliasScope(domain, "b" + std::to_string(i)));
            Value* slot = b_.CreateConstInBoundsGEP1_64(ptr, table, i);
            Value* p = b_.CreateAlignedLoad(ptr, slot, llvm::Align(8), "b" + std::to_string(i) + ".raw");
            buffers_.push_back(b_.CreateBitCast(p, memory_type(bp.dtype)->getPointerTo(), "b" + std::to_string(i)));
        }
        for (size_t i = 0; i < scopes.size(); ++i) {
            scope_.push_back(llvm::MDNode::get(ctx_, {scopes[i]}));
            std::vector<llvm::Metadata*> others;
            for (size_t j = 0; j < scopes.size(); ++j)
                if (j != i) others.push_back(scopes[j]);
            noalias_.push_back(llvm::MDNode::get(ctx_, others));
        }
        values_.assign(k_.vars.size(), nullptr);
        acc_.assign(k_.vars.size(), nullptr);
        acc_nan_.assign(k_.vars.size(), nullptr);
        acc_has_max_.assign(k_.vars.size(), false);
    }
};

}  // namespace

std::unique_ptr<llvm::Module> render_llvm(const kir::Kernel& k, llvm::LLVMContext& ctx) {
    return Renderer(k, ctx).run();
}

std::string module_text(const llvm::Module& m) {
    std::string s;
    llvm::raw_string_ostream os(s);
    m.print(os, nullptr);
    return os.str();
}

void dump_llvm_kernel(const kir::Kernel& k, const llvm::Module* optimized) {
    if (dump_dir().empty()) return;
    dump_file(k.name + ".kir", kir::to_string(k));
    if (optimized) dump_file(k.name + ".ll", module_text(*optimized));
}

}  // namespace pg
