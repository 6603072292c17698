// Inline f32 transcendental functions (see llvm_math.h for accuracy and special values).
//
// Everything here is straight-line IR: range reduction by bit manipulation and selects instead of
// branches, so that the loop vectorizer can widen it. No fast-math flags anywhere: the error-free
// transformations below (Fast2Sum, the exact residual of a division) rely on IEEE rounding of
// every fmul/fadd. llvm.fmuladd lets the backend fuse where the target has FMA; every step is
// correct either way, the fused form is only more accurate (figures in llvm_math.h).
//
// Polynomial coefficients of exp, log and tanh are weighted minimax fits (Lawson's iteratively
// reweighted least squares on 3000 Chebyshev nodes, in double, against 40-digit mpmath values),
// rounded to f32; the error bounds quoted were then measured exhaustively over every f32 input.
// The f64 polynomials of pow, sin and cos are plain Taylor series, truncated where the next term
// is below 2^-42 relative.
#include "codegen/llvm/llvm_math.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace pg {
namespace {

using llvm::Value;
using llvm::Intrinsic::ID;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ln 2 split for Cody-Waite reduction: kLn2Hi has 9 significant bits, so n * kLn2Hi is exact for
// |n| < 2^15 and x - n * kLn2Hi is exact (Sterbenz); kLn2Lo = ln 2 - kLn2Hi rounded to f32.
constexpr float kLn2Hi = 0x1.63p-1f;         // 0.693359375 = 355/512
constexpr float kLn2Lo = -0x1.bd0106p-13f;   // -2.12194440e-4
constexpr double kLn2 = 0x1.62e42fefa39efp-1;
constexpr double kLog2e = 0x1.71547652b82fep+0;
constexpr double kPiOver2 = 0x1.921fb54442d18p+0;

class Math {
public:
    explicit Math(llvm::IRBuilderBase& b) : b_(b), f32_(b.getFloatTy()), f64_(b.getDoubleTy()) {}

    // exp(x) = 2^n * e^r, n = round(x / ln 2), r = x - n ln 2 in [-0.347, 0.347].
    Value* exp(Value* x) {
        // Beyond these bounds the result is inf (e^89 > 2^128) or rounds to 0 (e^-105 < 2^-151);
        // clamping keeps n in [-151, 128], where the two-step scaling below is exact. NaN fails
        // both compares and propagates through the arithmetic.
        x = b_.CreateSelect(b_.CreateFCmpOGT(x, f(89)), f(89), x);
        x = b_.CreateSelect(b_.CreateFCmpOLT(x, f(-105)), f(-105), x);
        // Adding 1.5 * 2^23 rounds x / ln 2 to an integer (|x / ln 2| < 2^22) and leaves n in the
        // low mantissa bits: no fptosi, so no poison for NaN lanes.
        Value* magic = f(0x1.8p23);
        Value* t = b_.CreateFAdd(b_.CreateFMul(x, f(0x1.715476p+0)), magic);
        Value* n = b_.CreateFSub(t, magic);
        Value* ni = b_.CreateSub(bits(t), bits(magic));
        Value* r = fma(n, f(-kLn2Hi), x);
        r = fma(n, f(-kLn2Lo), r);
        // e^r = 1 + r + r^2 P(r): minimax P of degree 4, relative error 4.8e-9 on |r| <= 0.35.
        Value* p = horner(r, {0x1.fffffcp-2, 0x1.55548ap-3, 0x1.555916p-5, 0x1.123fb4p-7, 0x1.6a1a8ep-10});
        p = b_.CreateFAdd(fma(p, b_.CreateFMul(r, r), r), f(1));
        // 2^n as two normal factors 2^(n>>1) * 2^(n - (n>>1)): the first product is exact, the
        // second rounds once, to a subnormal where the result is one, or overflows to inf.
        Value* n1 = b_.CreateAShr(ni, 1);
        Value* n2 = b_.CreateSub(ni, n1);
        return b_.CreateFMul(b_.CreateFMul(p, pow2(n1)), pow2(n2));
    }

    // log(x) = e ln 2 + log(m), x = 2^e m with m in [sqrt(1/2), sqrt(2)).
    Value* log(Value* x) {
        // Subnormals: scale by 2^23 first so that the exponent field is meaningful.
        Value* sub = b_.CreateFCmpOLT(x, f(0x1p-126));
        Value* xs = b_.CreateSelect(sub, b_.CreateFMul(x, f(0x1p23)), x);
        // Adding bits(1) - bits(sqrt(1/2)) carries into the exponent exactly when the mantissa is
        // >= sqrt(1/2) (0x3f3504f3); the low 23 bits plus bits(sqrt(1/2)) are then m = x / 2^e.
        Value* t = b_.CreateAdd(bits(xs), u32(0x3f800000u - 0x3f3504f3u));
        Value* e = b_.CreateSub(b_.CreateLShr(t, 23), b_.CreateSelect(sub, u32(127 + 23), u32(127)));
        Value* m = from_bits(b_.CreateAdd(b_.CreateAnd(t, u32(0x7fffff)), u32(0x3f3504f3u)));
        // log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.1716. With 2s = f - s f this is
        // f - s (f - R(s^2)), R(z) = 2 atanh(s) / s - 2: f = m - 1 is exact and carries the
        // result, the rounding of s only reaches the correction s (f - R), at most 0.2 f.
        Value* fm = b_.CreateFSub(m, f(1));
        Value* s = b_.CreateFDiv(fm, b_.CreateFAdd(fm, f(2)));
        Value* z = b_.CreateFMul(s, s);
        // R(z) = z Q(z): minimax Q of degree 2, absolute error 1.8e-9 on z <= 0.0300.
        Value* rz = b_.CreateFMul(z, horner(z, {0x1.55557cp-1, 0x1.995c4ap-2, 0x1.322988p-2}));
        Value* lm = b_.CreateFSub(fm, b_.CreateFMul(s, b_.CreateFSub(fm, rz)));
        // |e ln 2| >= 2 |log m| for e != 0, so the sum cannot cancel more than one bit.
        Value* ef = b_.CreateSIToFP(e, f32_);
        Value* r = fma(ef, f(kLn2Hi), fma(ef, f(kLn2Lo), lm));
        r = b_.CreateSelect(b_.CreateFCmpOEQ(x, f(0)), f(-kInf), r);  // also -0
        r = b_.CreateSelect(b_.CreateFCmpOEQ(x, f(kInf)), f(kInf), r);
        return b_.CreateSelect(b_.CreateFCmpULT(x, f(0)), f(kNaN), r);  // negative or NaN
    }

    // tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)), or an odd polynomial below 0.625 where that
    // form loses bits to cancellation.
    Value* tanh(Value* x) {
        Value* a = fabs(x);
        // tanh(10) rounds to 1 in f32 (1 - 4e-9); the clamp keeps e^{2a} finite (no inf - inf).
        Value* e = exp(b_.CreateFMul(f(2), b_.CreateSelect(b_.CreateFCmpOGT(a, f(10)), f(10), a)));
        // d + eps = e + 1 exactly (Fast2Sum, e >= 1); q = 2 / d; the exact residual of the
        // division, rem = 2 - q (d + eps), and the rounding error z of h = 1 - q give
        // 1 - 2 / (e + 1) = h + z - rem q / 2 with one final rounding.
        Value* d = b_.CreateFAdd(e, f(1));
        Value* eps = b_.CreateFAdd(b_.CreateFSub(e, d), f(1));
        Value* q = b_.CreateFDiv(f(2), d);
        Value* h = b_.CreateFSub(f(1), q);
        Value* zq = b_.CreateFSub(b_.CreateFSub(f(1), h), q);
        Value* rem = b_.CreateFSub(fma(b_.CreateFNeg(q), d, f(2)), b_.CreateFMul(q, eps));
        Value* big = b_.CreateFAdd(h, fma(b_.CreateFNeg(rem), b_.CreateFMul(q, f(0.5)), zq));
        // tanh(a) = a + a^3 P(a^2): minimax P of degree 4, relative error 4.4e-9 on a <= 0.625.
        Value* a2 = b_.CreateFMul(a, a);
        Value* p = horner(a2, {-0x1.555532p-2, 0x1.110726p-3, -0x1.b83c5ap-5, 0x1.52269cp-6, -0x1.75e1cep-8});
        Value* small = fma(b_.CreateFMul(a, a2), p, a);
        Value* r = b_.CreateSelect(b_.CreateFCmpOLT(a, f(0.625)), small, big);  // NaN: big is NaN
        return b_.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, r, x);
    }

    // sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, so that e <= 1 and the
    // result never comes from a difference.
    Value* sigmoid(Value* x) {
        Value* e = exp(b_.CreateFNeg(fabs(x)));
        Value* pos = b_.CreateFCmpOGE(x, f(0));
        Value* num = b_.CreateSelect(pos, f(1), e);
        // As in tanh: d + eps = 1 + e exactly, rem = num - q (d + eps) exactly (with FMA), and
        // num / (1 + e) = q + rem / (1 + e) where 1 / (1 + e) is q (x >= 0) or 1 - q (x < 0).
        Value* d = b_.CreateFAdd(f(1), e);
        Value* eps = b_.CreateFAdd(b_.CreateFSub(f(1), d), e);
        Value* q = b_.CreateFDiv(num, d);
        Value* inv = b_.CreateSelect(pos, q, b_.CreateFSub(f(1), q));
        Value* rem = b_.CreateFSub(fma(b_.CreateFNeg(q), d, num), b_.CreateFMul(q, eps));
        return fma(rem, inv, q);
    }

    // sin and cos of f32 x through an exact reduction to r = x - k pi/2, |r| <= pi/4, in f64.
    Value* sincos(Value* x, bool cosine) {
        Value* a = fabs(x);
        Value* finite = b_.CreateFCmpOLT(a, f(kInf));
        Value* as = b_.CreateSelect(finite, a, f(0));  // inf/NaN lanes compute on 0
        // Payne-Hanek style: for |x| >= pi/4 write x = M 2^E, M a 24-bit integer, E = exponent
        // field - 150. Then x 2/pi mod 4 = M C(E) mod 4 with C(E) = (2^E 2/pi) mod 4, because M
        // is an integer. The table holds C(E) as four 24-bit chunks c_j (weights 2^(1-24j) ..
        // 2^(-22-24j)), so every M c_j is exact in f64 and the truncation costs at most
        // 2^24 2^-94 = 2^-70 quadrants. An exhaustive comparison with libm (whose reduction is
        // exact) finds every f32 result within 2^-24 relative: no f32 lies close enough to a
        // multiple of pi/2 for the 2^-70 to show.
        Value* xb = bits(as);
        Value* ebits = b_.CreateLShr(xb, 23);
        Value* md = b_.CreateUIToFP(b_.CreateOr(b_.CreateAnd(xb, u32(0x7fffff)), u32(0x800000)), f64_);
        Value* idx = b_.CreateSelect(b_.CreateICmpULT(ebits, u32(kTableFirst)), u32(0), b_.CreateSub(ebits, u32(kTableFirst)));
        idx = b_.CreateZExt(idx, b_.getInt64Ty());
        llvm::GlobalVariable* table = two_over_pi_table();
        Value* y[4];
        for (int j = 0; j < 4; ++j) {
            Value* p = b_.CreateInBoundsGEP(table->getValueType(), table, {b_.getInt64(0), idx, b_.getInt64(j)});
            y[j] = b_.CreateFMul(md, b_.CreateAlignedLoad(f64_, p, llvm::Align(8)));
        }
        // y0 < 2^26 with bits down to 2^-22: y0 less its nearest multiple of 4 is exact; so is
        // s01 = a0 + y1 in (-2, 6) with bits down to 2^-46, and its difference f to the nearest
        // integer k, whose low two bits are the quadrant (two's complement keeps k mod 4).
        Value* a0 = b_.CreateFSub(y[0], b_.CreateFMul(d(4), round_f64(b_.CreateFMul(y[0], d(0.25))).first));
        Value* s01 = b_.CreateFAdd(a0, y[1]);
        auto [kf, ki] = round_f64(s01);
        Value* fr = b_.CreateFSub(s01, kf);
        // Fast2Sum of f + y2 (when |f| < |y2| the sum is exact and the error term is 0), then y3.
        Value* hi = b_.CreateFAdd(fr, y[2]);
        Value* lo = b_.CreateFAdd(b_.CreateFSub(y[2], b_.CreateFSub(hi, fr)), y[3]);
        Value* r = fma(hi, d(kPiOver2), b_.CreateFMul(lo, d(kPiOver2)));
        Value* k = b_.CreateAnd(b_.CreateTrunc(ki, b_.getInt32Ty()), u32(3));
        // Below pi/4 (0x1.921fb6p-1 is pi/4 rounded up) r = x exactly and k = 0; this also covers
        // the exponents the table does not have.
        Value* small = b_.CreateFCmpOLT(as, f(0x1.921fb6p-1));
        r = b_.CreateSelect(small, b_.CreateFPExt(as, f64_), r);
        k = b_.CreateSelect(small, u32(0), k);
        // Taylor series on |r| <= 0.786: sin to r^13 (next term 2.6e-14 relative), cos to r^14
        // (next term 1e-15).
        Value* r2 = b_.CreateFMul(r, r);
        Value* sp = fma(b_.CreateFMul(r, r2), horner(r2, taylor(3, 6, true)), r);
        Value* cp = fma(r2, horner(r2, taylor(2, 7, true)), d(1));
        // sin(x + k pi/2) cycles sin, cos, -sin, -cos; cos(x + k pi/2) is sin one quadrant on.
        if (cosine) k = b_.CreateAdd(k, u32(1));
        Value* v = b_.CreateSelect(b_.CreateICmpNE(b_.CreateAnd(k, u32(1)), u32(0)), cp, sp);
        v = b_.CreateSelect(b_.CreateICmpNE(b_.CreateAnd(k, u32(2)), u32(0)), b_.CreateFNeg(v), v);
        Value* res = b_.CreateFPTrunc(v, f32_);
        if (!cosine)  // odd: the sign of x, -0 included
            res = b_.CreateSelect(b_.CreateICmpSLT(bits(x), u32(0)), b_.CreateFNeg(res), res);
        return b_.CreateSelect(finite, res, f(kNaN));
    }

    // pow(a, y) = sign * 2^(y log2|a|), evaluated in f64 to ~1e-13 relative (f32 rounding is
    // 6e-8, and an f32 log2 would be off by |y log2|a|| * 2^-24, up to 150 times more), then
    // C99's special cases.
    Value* pow(Value* a, Value* y) {
        Value* ax = fabs(a);
        Value* axd = b_.CreateFPExt(ax, f64_);  // f32 subnormals are normal in f64
        // log2|a| = e + log(m) / ln 2, m in [sqrt(1/2), sqrt(2)), as in log() but on f64 bits.
        const uint64_t sqrt_half = 0x3fe6a09e667f3bcdull;
        Value* t = b_.CreateAdd(b_.CreateBitCast(axd, b_.getInt64Ty()), u64(0x3ff0000000000000ull - sqrt_half));
        Value* e = b_.CreateSIToFP(b_.CreateTrunc(b_.CreateSub(b_.CreateLShr(t, 52), u64(1023)), b_.getInt32Ty()), f64_);
        Value* m = b_.CreateBitCast(b_.CreateAdd(b_.CreateAnd(t, u64((1ull << 52) - 1)), u64(sqrt_half)), f64_);
        Value* fm = b_.CreateFSub(m, d(1));
        Value* s2 = b_.CreateFMul(d(2), b_.CreateFDiv(fm, b_.CreateFAdd(fm, d(2))));
        Value* z = b_.CreateFMul(s2, b_.CreateFMul(s2, d(0.25)));
        // log m = 2 atanh(s) = 2s (1 + z/3 + z^2/5 + ... + z^7/15), z <= 0.0295: next term 3e-14.
        std::vector<double> atanh;
        for (int k = 1; k <= 7; ++k) atanh.push_back(1.0 / (2 * k + 1));
        Value* lm = fma(b_.CreateFMul(s2, z), horner(z, atanh), s2);
        Value* l2 = fma(lm, d(kLog2e), e);
        l2 = b_.CreateSelect(b_.CreateFCmpOEQ(axd, d(0)), d(-kInf), l2);
        l2 = b_.CreateSelect(b_.CreateFCmpOEQ(axd, d(kInf)), d(kInf), l2);
        Value* tt = b_.CreateFMul(b_.CreateFPExt(y, f64_), l2);
        // 2^200 and 2^-200 already overflow / underflow f32; the clamp also tames y log2|a| = inf.
        tt = b_.CreateSelect(b_.CreateFCmpOGT(tt, d(200)), d(200), tt);
        tt = b_.CreateSelect(b_.CreateFCmpOLT(tt, d(-200)), d(-200), tt);
        // 2^tt = 2^n e^(f ln 2), n = round(tt) by the 1.5 * 2^52 trick, |f ln 2| <= 0.347:
        // Taylor to degree 10 (next term 2.2e-13).
        auto [nf, ni] = round_f64(tt);
        Value* u = b_.CreateFMul(b_.CreateFSub(tt, nf), d(kLn2));
        Value* p = horner(u, taylor(0, 11, false));
        Value* scale = b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(ni, u64(1023)), 52), f64_);
        Value* mag = b_.CreateFPTrunc(b_.CreateFMul(p, scale), f32_);  // the one f32 rounding
        mag = b_.CreateSelect(b_.CreateFCmpOEQ(ax, f(1)), f(1), mag);  // pow(-1, +-inf) = 1
        // Parity of y: every f32 of magnitude >= 2^23 is an integer, even from 2^24 on (inf too);
        // below 2^23, |y| + 2^23 rounds |y| to an integer whose low bit is its mantissa's last.
        Value* ay = fabs(y);
        Value* big_y = b_.CreateFCmpOGE(ay, f(0x1p23));
        Value* ty = b_.CreateFAdd(ay, f(0x1p23));
        Value* y_int = b_.CreateOr(big_y, b_.CreateFCmpOEQ(b_.CreateFSub(ty, f(0x1p23)), ay));
        Value* low_bit = b_.CreateAnd(bits(b_.CreateSelect(big_y, ay, ty)), u32(1));
        Value* y_odd = b_.CreateAnd(b_.CreateAnd(y_int, b_.CreateFCmpOLT(ay, f(0x1p24))),
                                    b_.CreateICmpNE(low_bit, u32(0)));
        Value* neg = b_.CreateAnd(b_.CreateICmpSLT(bits(a), u32(0)), y_odd);  // -0 and -inf too
        Value* r = b_.CreateSelect(neg, b_.CreateFNeg(mag), mag);
        // NaN operands, and a finite negative base with a non-integer exponent.
        Value* nan = b_.CreateOr(b_.CreateFCmpUNO(a, y),
                                 b_.CreateAnd(b_.CreateAnd(b_.CreateFCmpOLT(a, f(0)), b_.CreateFCmpOGT(a, f(-kInf))),
                                              b_.CreateNot(y_int)));
        r = b_.CreateSelect(nan, f(kNaN), r);
        // pow(a, +-0) = 1 and pow(1, y) = 1 even for NaN.
        return b_.CreateSelect(b_.CreateOr(b_.CreateFCmpOEQ(y, f(0)), b_.CreateFCmpOEQ(a, f(1))), f(1), r);
    }

private:
    // Exponent fields covered by the 2/pi table: 126 (|x| >= 0.5) to 254 (the largest finite).
    static constexpr uint32_t kTableFirst = 126, kTableRows = 254 - kTableFirst + 1;

    llvm::IRBuilderBase& b_;
    llvm::Type *f32_, *f64_;

    Value* f(double v) { return llvm::ConstantFP::get(f32_, v); }
    Value* d(double v) { return llvm::ConstantFP::get(f64_, v); }
    llvm::ConstantInt* u32(uint32_t v) { return b_.getInt32(v); }
    llvm::ConstantInt* u64(uint64_t v) { return b_.getInt64(v); }
    Value* bits(Value* v) { return b_.CreateBitCast(v, b_.getInt32Ty()); }
    Value* from_bits(Value* i) { return b_.CreateBitCast(i, f32_); }
    Value* fabs(Value* v) { return unary(llvm::Intrinsic::fabs, v); }
    Value* unary(ID id, Value* v) { return b_.CreateUnaryIntrinsic(id, v); }
    Value* fma(Value* a, Value* x, Value* c) {
        return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {a->getType()}, {a, x, c});
    }
    // Nearest integer of an f64 with |v| < 2^51, as f64 and i64: adding 1.5 * 2^52 rounds v into
    // the low mantissa bits. Plain adds instead of llvm.rint and fptosi, which SSE2 lacks (rint
    // would become a libm call) and which would be poison for the NaN and inf lanes.
    std::pair<Value*, Value*> round_f64(Value* v) {
        Value* magic = d(0x1.8p52);
        Value* t = b_.CreateFAdd(v, magic);
        Value* i64 = b_.CreateSub(b_.CreateBitCast(t, b_.getInt64Ty()), b_.CreateBitCast(magic, b_.getInt64Ty()));
        return {b_.CreateFSub(t, magic), i64};
    }
    // 2^n for n in [-126, 127] (an i32), built in the exponent field.
    Value* pow2(Value* n) { return from_bits(b_.CreateShl(b_.CreateAdd(n, u32(127)), 23)); }
    // c[0] + c[1] x + c[2] x^2 + ..., in x's type (the coefficients are exact in it).
    Value* horner(Value* x, const std::vector<double>& c) {
        Value* p = llvm::ConstantFP::get(x->getType(), c.back());
        for (size_t i = c.size() - 1; i-- > 0;) p = fma(p, x, llvm::ConstantFP::get(x->getType(), c[i]));
        return p;
    }
    // Taylor coefficients 1/k! for k = first, first + step, ... (count of them), step 2 with
    // alternating signs (sin, cos in r^2) or step 1 (exp).
    static std::vector<double> taylor(int first, int count, bool alternating) {
        std::vector<double> c;
        int step = alternating ? 2 : 1;
        for (int i = 0, k = first; i < count; ++i, k += step) {
            double fact = 1;
            for (int j = 2; j <= k; ++j) fact *= j;
            c.push_back((alternating && (k / 2) % 2 == 1 ? -1.0 : 1.0) / fact);
        }
        return c;
    }

    // C(E) = (2^E 2/pi) mod 4 for E = exponent field - 150, as rows of four f64 chunks.
    llvm::GlobalVariable* two_over_pi_table() {
        llvm::Module* mod = b_.GetInsertBlock()->getModule();
        const char* name = "pg.two_over_pi";
        if (llvm::GlobalVariable* g = mod->getNamedGlobal(name)) return g;
        // 2/pi in binary, 224 bits (the table reaches bit 198: E <= 104 plus 94 bits below 2^0).
        static constexpr uint32_t kWords[7] = {0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0,
                                               0xdb629599, 0x3c439041, 0xfe5163ab};
        auto bit = [](int i) -> uint64_t {  // the 2^-i digit of 2/pi
            if (i < 1) return 0;
            --i;
            return (kWords[i / 32] >> (31 - i % 32)) & 1;
        };
        auto* row_t = llvm::ArrayType::get(f64_, 4);
        auto* table_t = llvm::ArrayType::get(row_t, kTableRows);
        std::vector<llvm::Constant*> rows;
        for (uint32_t row = 0; row < kTableRows; ++row) {
            int e = static_cast<int>(row + kTableFirst) - 150;
            std::vector<llvm::Constant*> chunks;
            for (int j = 0; j < 4; ++j) {
                int w_hi = 1 - 24 * j, w_lo = -22 - 24 * j;
                uint64_t v = 0;
                for (int w = w_hi; w >= w_lo; --w) v = v * 2 + bit(e - w);  // C's 2^w digit
                chunks.push_back(llvm::ConstantFP::get(f64_, std::ldexp(static_cast<double>(v), w_lo)));
            }
            rows.push_back(llvm::ConstantArray::get(row_t, chunks));
        }
        auto* g = new llvm::GlobalVariable(*mod, table_t, true, llvm::GlobalValue::PrivateLinkage,
                                           llvm::ConstantArray::get(table_t, rows), name);
        g->setAlignment(llvm::Align(64));
        return g;
    }
};

}  // namespace

llvm::Value* emit_exp(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).exp(x); }
llvm::Value* emit_log(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).log(x); }
llvm::Value* emit_tanh(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).tanh(x); }
llvm::Value* emit_sigmoid(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).sigmoid(x); }
llvm::Value* emit_sin(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).sincos(x, false); }
llvm::Value* emit_cos(llvm::IRBuilderBase& b, llvm::Value* x) { return Math(b).sincos(x, true); }
llvm::Value* emit_pow(llvm::IRBuilderBase& b, llvm::Value* a, llvm::Value* y) { return Math(b).pow(a, y); }

}  // namespace pg
