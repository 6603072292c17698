// LLVM renderer + CpuProgram: elementwise kernels, every Compute op and every cast, checked
// against fp64 values computed here with the reference interpreter's semantics (see
// graph/interpreter_ops.cpp): transcendentals within 1e-6 relative, exact ops bit for bit.
#include <limits>

#include "base/env.h"
#include "tests/codegen/llvm_test_util.h"

using namespace pg;
using namespace pg::test;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double max_nan(double a, double b) { return std::isnan(a) || a > b ? a : b; }
double min_nan(double a, double b) { return std::isnan(a) || a < b ? a : b; }

double ref_unary(Op op, double x) {
    switch (op) {
        case Op::Neg: return -x;
        case Op::Exp: return std::exp(x);
        case Op::Log: return std::log(x);
        case Op::Tanh: return std::tanh(x);
        case Op::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
        case Op::Sqrt: return std::sqrt(x);
        case Op::Rsqrt: return 1.0 / std::sqrt(x);
        case Op::Abs: return std::fabs(x);
        case Op::Relu: return max_nan(x, 0.0);
        case Op::Sin: return std::sin(x);
        case Op::Cos: return std::cos(x);
        case Op::Recip: return 1.0 / x;
        default: FAIL("not unary"); return 0;
    }
}

double ref_binary(Op op, double a, double b) {
    switch (op) {
        case Op::Add: return a + b;
        case Op::Sub: return a - b;
        case Op::Mul: return a * b;
        case Op::Div: return a / b;
        case Op::Max: return max_nan(a, b);
        case Op::Min: return min_nan(a, b);
        case Op::Pow: return std::pow(a, b);
        case Op::Lt: return a < b;
        case Op::Le: return a <= b;
        case Op::Gt: return a > b;
        case Op::Ge: return a >= b;
        case Op::Eq: return a == b;
        case Op::Ne: return a != b;
        case Op::And: return a != 0 && b != 0;
        case Op::Or: return a != 0 || b != 0;
        default: FAIL("not binary"); return 0;
    }
}

// Deterministic test inputs in [lo, hi) plus the given special values.
std::vector<double> inputs(int n, double lo, double hi, std::vector<double> special = {}) {
    std::mt19937 rng(1234);
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<double> v = std::move(special);
    while (static_cast<int>(v.size()) < n) v.push_back(d(rng));
    return v;
}

std::string safe_name(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return out;
}

}  // namespace

TEST_CASE("f32 map over a parallel loop honours begin/end") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t n = 1000;
    auto k = map_kernel("t_axpy", {DType::f32, DType::f32}, DType::f32, n, [](const std::vector<kir::ExprRef>& in) {
        return kir::compute(Op::Add, DType::f32,
                            {kir::compute(Op::Mul, DType::f32, {in[0], kir::constant(2.5, DType::f32)}), in[1]});
    });
    auto prog = CpuProgram::compile({k});
    REQUIRE(prog->size() == 1);
    HostBuf x(DType::f32, n), y(DType::f32, n), out(DType::f32, n);
    for (int64_t i = 0; i < n; ++i) {
        x.set(i, 0.25 * static_cast<double>(i) - 3);
        y.set(i, static_cast<double>(i % 7));
        out.set(i, -999);
    }
    auto want = [&](int64_t i) { return static_cast<double>(static_cast<float>(static_cast<float>(x.get(i) * 2.5) + y.get(i))); };
    // A sub-range writes exactly that range.
    launch_range(prog->fn(0), {&x, &y, &out}, 300, 600);
    for (int64_t i = 0; i < n; ++i) REQUIRE(out.get(i) == (i >= 300 && i < 600 ? want(i) : -999.0));
    // Ranges past the loop's extent are clamped to it.
    launch_range(prog->fn(0), {&x, &y, &out}, -50, 300);
    launch_range(prog->fn(0), {&x, &y, &out}, 600, n + 100);
    for (int64_t i = 0; i < n; ++i) REQUIRE(out.get(i) == want(i));
    // Split across the pool.
    std::fill(out.bytes.begin(), out.bytes.end(), 0);
    launch(prog->fn(0), {&x, &y, &out}, n);
    for (int64_t i = 0; i < n; ++i) REQUIRE(out.get(i) == want(i));
}

TEST_CASE("every unary op on f32 matches fp64 within 1e-6, exact ops exactly") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const std::vector<Op> ops = {Op::Neg, Op::Exp,  Op::Log, Op::Tanh, Op::Sigmoid, Op::Sqrt,
                                 Op::Rsqrt, Op::Abs, Op::Relu, Op::Sin, Op::Cos,    Op::Recip};
    const int n = 517;  // not a multiple of the vector width: the scalar epilogue runs too
    std::vector<kir::Kernel> kernels;
    for (Op op : ops)
        kernels.push_back(map_kernel(fmt::format("t_{}", op_name(op)), {DType::f32}, DType::f32, n,
                                     [op](const auto& in) { return kir::compute(op, DType::f32, {in[0]}); }));
    auto prog = CpuProgram::compile(kernels);
    for (size_t o = 0; o < ops.size(); ++o) {
        Op op = ops[o];
        bool positive = op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt;
        std::vector<double> xs = positive ? inputs(n, 1e-3, 50, {1.0, 1e-30, 3e38})
                                          : inputs(n, -20, 20, {0.0, -0.0, 1e-7, -1e-7, 80.0, -80.0, kNaN});
        HostBuf x(DType::f32, n), out(DType::f32, n);
        for (int i = 0; i < n; ++i) x.set(i, xs[static_cast<size_t>(i)]);
        launch(prog->fn(o), {&x, &out}, n);
        bool exact = op == Op::Neg || op == Op::Abs || op == Op::Relu || op == Op::Sqrt || op == Op::Recip;
        double worst = 0;
        for (int i = 0; i < n; ++i) {
            double want = ref_unary(op, x.get(i));
            if (exact)
                REQUIRE_MESSAGE(rel_err(out.get(i), round_to_dtype(want, DType::f32)) == 0, op_name(op), " x=", x.get(i));
            else if (std::fabs(want) >= 1e-37)  // outside f32's subnormal range
                worst = std::max(worst, rel_err(out.get(i), want));
        }
        INFO(op_name(op), " worst relative error ", worst);
        CHECK(worst <= 1e-6);
    }
}

TEST_CASE("binary ops, comparisons and select on f32, with NaN and signed zeros") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const std::vector<Op> ops = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min, Op::Pow,
                                 Op::Lt,  Op::Le,  Op::Gt,  Op::Ge,  Op::Eq,  Op::Ne};
    const int n = 300;
    std::vector<double> as = inputs(n, 0.1, 4, {kNaN, 1.0, 2.0, 0.0, -0.0, kInf, 3.0});
    std::vector<double> bs = inputs(n, -3, 3, {1.0, kNaN, 2.0, -0.0, 0.0, 1.0, 3.0});
    std::vector<kir::Kernel> kernels;
    for (Op op : ops) {
        DType out = is_comparison(op) ? DType::boolean : DType::f32;
        kernels.push_back(map_kernel(fmt::format("t_{}", op_name(op)), {DType::f32, DType::f32}, out, n,
                                     [op, out](const auto& in) { return kir::compute(op, out, {in[0], in[1]}); }));
    }
    // select(a < b, a * 2, b)
    kernels.push_back(map_kernel("t_select", {DType::f32, DType::f32}, DType::f32, n, [](const auto& in) {
        auto lt = kir::compute(Op::Lt, DType::boolean, {in[0], in[1]});
        auto a2 = kir::compute(Op::Mul, DType::f32, {in[0], kir::constant(2, DType::f32)});
        return kir::compute(Op::Select, DType::f32, {lt, a2, in[1]});
    }));
    auto prog = CpuProgram::compile(kernels);
    HostBuf a(DType::f32, n), b(DType::f32, n);
    for (int i = 0; i < n; ++i) {
        a.set(i, as[static_cast<size_t>(i)]);
        b.set(i, bs[static_cast<size_t>(i)]);
    }
    for (size_t o = 0; o <= ops.size(); ++o) {
        bool sel = o == ops.size();
        DType out_t = !sel && is_comparison(ops[o]) ? DType::boolean : DType::f32;
        HostBuf out(out_t, n);
        launch(prog->fn(o), {&a, &b, &out}, n);
        for (int i = 0; i < n; ++i) {
            double x = a.get(i), y = b.get(i);
            double want = sel ? (x < y ? static_cast<double>(static_cast<float>(x * 2)) : y)
                              : round_to_dtype(ref_binary(ops[o], x, y), out_t);
            double tol = !sel && ops[o] == Op::Pow ? 1e-6 : 0;
            std::string what(sel ? "select" : op_name(ops[o]));
            INFO(what, " a=", x, " b=", y);
            REQUIRE(rel_err(out.get(i), want) <= tol);
            if (!sel && (ops[o] == Op::Max || ops[o] == Op::Min) && want == 0)
                CHECK(std::signbit(out.get(i)) == std::signbit(want));
        }
    }
}

TEST_CASE("bf16 and f16 arithmetic rounds after every op, bit for bit") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int n = 2000;
    std::vector<kir::Kernel> kernels;
    for (DType t : {DType::bf16, DType::f16}) {
        // ((a * b) + a) / b, max(a, b), sqrt(|a|): every op rounds to t.
        kernels.push_back(map_kernel(fmt::format("t_chain_{}", dtype_name(t)), {t, t}, t, n, [t](const auto& in) {
            auto mul = kir::compute(Op::Mul, t, {in[0], in[1]});
            auto add = kir::compute(Op::Add, t, {mul, in[0]});
            return kir::compute(Op::Div, t, {add, in[1]});
        }));
        kernels.push_back(map_kernel(fmt::format("t_sqrt_{}", dtype_name(t)), {t}, t, n, [t](const auto& in) {
            return kir::compute(Op::Sqrt, t, {kir::compute(Op::Abs, t, {in[0]})});
        }));
        kernels.push_back(map_kernel(fmt::format("t_exp_{}", dtype_name(t)), {t}, t, n, [t](const auto& in) {
            return kir::compute(Op::Exp, t, {in[0]});
        }));
        // min(max(-a, relu(b)), a): ops that return an operand skip the rounding
        kernels.push_back(map_kernel(fmt::format("t_minmax_{}", dtype_name(t)), {t, t}, t, n, [t](const auto& in) {
            auto mx = kir::compute(Op::Max, t, {kir::compute(Op::Neg, t, {in[0]}), kir::compute(Op::Relu, t, {in[1]})});
            return kir::compute(Op::Min, t, {mx, in[0]});
        }));
    }
    auto prog = CpuProgram::compile(kernels);
    std::vector<double> as = inputs(n, -300, 300, {65504, 60000, 1e-6, -3e-7, 0.0, kNaN, kInf, 1e5});
    std::vector<double> bs = inputs(n, -2, 2, {1.5, 1.25, 3.0, 1e-3, 1.0, 1.0, 1.0, 1.0});
    size_t kernel = 0;
    for (DType t : {DType::bf16, DType::f16}) {
        HostBuf a(t, n), b(t, n), chain(t, n), root(t, n), ex(t, n), minmax(t, n);
        for (int i = 0; i < n; ++i) {
            a.set(i, as[static_cast<size_t>(i)]);
            b.set(i, bs[static_cast<size_t>(i)]);
        }
        launch(prog->fn(kernel++), {&a, &b, &chain}, n);
        launch(prog->fn(kernel++), {&a, &root}, n);
        launch(prog->fn(kernel++), {&a, &ex}, n);
        launch(prog->fn(kernel++), {&a, &b, &minmax}, n);
        for (int i = 0; i < n; ++i) {
            double x = a.get(i), y = b.get(i);
            double want = round_to_dtype(round_to_dtype(round_to_dtype(x * y, t) + x, t) / y, t);
            INFO(dtype_name(t), " a=", x, " b=", y);
            REQUIRE(rel_err(chain.get(i), want) == 0);
            REQUIRE(rel_err(root.get(i), round_to_dtype(std::sqrt(std::fabs(x)), t)) == 0);
            // exp via expf may land one ulp of t away only when the f32 result sits on a tie.
            double e = round_to_dtype(std::exp(x), t);
            REQUIRE(rel_err(ex.get(i), e) <= (t == DType::bf16 ? 1.0 / 128 : 1.0 / 1024));
            REQUIRE(rel_err(minmax.get(i), min_nan(max_nan(-x, max_nan(y, 0.0)), x)) == 0);
        }
    }
}

TEST_CASE("f32 <-> f16 and f32 -> bf16 conversions match the host's bit conversions exhaustively") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t n = 1 << 16;
    auto to_f32 = map_kernel("t_f16_to_f32", {DType::f16}, DType::f32, n,
                             [](const auto& in) { return kir::compute(Op::Cast, DType::f32, {in[0]}); });
    auto to_f16 = map_kernel("t_f32_to_f16", {DType::f32}, DType::f16, n,
                             [](const auto& in) { return kir::compute(Op::Cast, DType::f16, {in[0]}); });
    auto to_bf16 = map_kernel("t_f32_to_bf16", {DType::f32}, DType::bf16, n,
                              [](const auto& in) { return kir::compute(Op::Cast, DType::bf16, {in[0]}); });
    auto prog = CpuProgram::compile({to_f32, to_f16, to_bf16});
    // Every half bit pattern -> f32.
    HostBuf h(DType::f16, n), f(DType::f32, n);
    for (int64_t i = 0; i < n; ++i) std::memcpy(h.at(i), &i, 2);
    launch(prog->fn(0), {&h, &f}, n);
    for (int64_t i = 0; i < n; ++i) {
        float want = f16_bits_to_f32(static_cast<uint16_t>(i));
        float got = static_cast<float>(f.get(i));
        REQUIRE_MESSAGE((std::isnan(want) ? std::isnan(got) : std::memcmp(&want, &got, 4) == 0), "half bits ", i);
    }
    // f32 bit patterns around every half exponent (ties, subnormals, overflow) plus random ones.
    std::mt19937 rng(7);
    for (int round = 0; round < 4; ++round) {
        HostBuf src(DType::f32, n), h16(DType::f16, n), b16(DType::bf16, n);
        for (int64_t i = 0; i < n; ++i) {
            uint32_t bits = round < 2 ? (static_cast<uint32_t>(round) << 31) | (static_cast<uint32_t>(0x30000000u + i * 0x2000u + (i % 3 == 0 ? 0x1000u : i % 3)))
                                      : static_cast<uint32_t>(rng());
            std::memcpy(src.at(i), &bits, 4);
        }
        launch(prog->fn(1), {&src, &h16}, n);
        launch(prog->fn(2), {&src, &b16}, n);
        for (int64_t i = 0; i < n; ++i) {
            float x;
            std::memcpy(&x, src.at(i), 4);
            uint16_t wh = f32_to_f16_bits(x), wb = f32_to_bf16_bits(x);
            if (std::isnan(x)) {
                REQUIRE(std::isnan(f16_bits_to_f32(h16.bits16(i))));
                REQUIRE(std::isnan(bf16_bits_to_f32(b16.bits16(i))));
                continue;
            }
            REQUIRE_MESSAGE(h16.bits16(i) == wh, "f32 ", x);
            REQUIRE_MESSAGE(b16.bits16(i) == wb, "f32 ", x);
        }
    }
}

TEST_CASE("casts between every pair of dtypes") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const std::vector<DType> types = {DType::f32, DType::bf16, DType::f16, DType::i64,
                                      DType::i32, DType::u16,  DType::u8,  DType::boolean};
    const std::vector<double> floats = {0, -0.0, 1, -1, 2.5, -2.5, 3.7, -3.7, 100.49, 255, 256, 300, -129, 65504,
                                        65535, 65536, 70000, 1e-5, 1e-8, 2147483648.0, -2147483653.0, 1e10, kNaN, kInf};
    const std::vector<double> ints = {0, 1, -1, 2, -7, 127, 128, 255, 256, 300, -129, 65535, 65536, 70000,
                                      2147483647, 2147483648.0, -2147483649.0, 8589934597.0, 16777217, -5};
    const int64_t n = 64;
    std::vector<kir::Kernel> kernels;
    for (DType from : types)
        for (DType to : types)
            kernels.push_back(map_kernel(fmt::format("t_cast_{}_{}", safe_name(dtype_name(from)), safe_name(dtype_name(to))),
                                         {from}, to, n, [to](const auto& in) { return kir::compute(Op::Cast, to, {in[0]}); }));
    auto prog = CpuProgram::compile(kernels);
    CHECK(prog->stats().kernels == 64);
    size_t k = 0;
    for (DType from : types) {
        const std::vector<double>& vals = is_float(from) ? floats : ints;
        HostBuf in(from, n);
        for (int64_t i = 0; i < n; ++i) in.set(i, vals[static_cast<size_t>(i) % vals.size()]);
        for (DType to : types) {
            HostBuf out(to, n);
            launch(prog->fn(k++), {&in, &out}, n);
            for (int64_t i = 0; i < n; ++i) {
                double v = in.get(i);
                // The reference rejects float -> integer of values outside int64 (and NaN/inf).
                if (is_float(from) && is_int(to) && !(std::fabs(v) < 9.2e18)) continue;
                INFO(dtype_name(from), " -> ", dtype_name(to), " of ", v);
                REQUIRE(rel_err(out.get(i), round_to_dtype(v, to)) == 0);
            }
        }
    }
}

TEST_CASE("integer and bool ops") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t n = 40;
    const std::vector<Op> int_ops = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min, Op::Lt, Op::Ge, Op::Eq, Op::Ne};
    std::vector<kir::Kernel> kernels;
    for (DType t : {DType::i64, DType::i32, DType::u8})
        for (Op op : int_ops) {
            DType out = is_comparison(op) ? DType::boolean : t;
            kernels.push_back(map_kernel(fmt::format("t_{}_{}", op_name(op), dtype_name(t)), {t, t}, out, n,
                                         [op, out](const auto& in) { return kir::compute(op, out, {in[0], in[1]}); }));
        }
    for (Op op : {Op::Neg, Op::Abs, Op::Relu})
        kernels.push_back(map_kernel(fmt::format("t_{}_i64", op_name(op)), {DType::i64}, DType::i64, n,
                                     [op](const auto& in) { return kir::compute(op, DType::i64, {in[0]}); }));
    for (Op op : {Op::And, Op::Or, Op::Eq, Op::Lt})
        kernels.push_back(map_kernel(fmt::format("t_{}_bool", op_name(op)), {DType::boolean, DType::boolean}, DType::boolean, n,
                                     [op](const auto& in) { return kir::compute(op, DType::boolean, {in[0], in[1]}); }));
    kernels.push_back(map_kernel("t_not", {DType::boolean}, DType::boolean, n,
                                 [](const auto& in) { return kir::compute(Op::Not, DType::boolean, {in[0]}); }));
    auto prog = CpuProgram::compile(kernels);

    const std::vector<double> as = {7, -7, 100, 200, 2147483647, -2147483648.0, 5, 0, 255, 12, 9, -9, 3000000000.0};
    const std::vector<double> bs = {2, 2, 100, 100, 1, -1, 0, 3, 255, -5, -2, -2, 3};
    size_t k = 0;
    for (DType t : {DType::i64, DType::i32, DType::u8}) {
        HostBuf a(t, n), b(t, n);
        for (int64_t i = 0; i < n; ++i) {
            a.set(i, as[static_cast<size_t>(i) % as.size()]);
            b.set(i, bs[static_cast<size_t>(i) % bs.size()]);
        }
        for (Op op : int_ops) {
            DType out_t = is_comparison(op) ? DType::boolean : t;
            HostBuf out(out_t, n);
            launch(prog->fn(k++), {&a, &b, &out}, n);
            for (int64_t i = 0; i < n; ++i) {
                double x = a.get(i), y = b.get(i);
                INFO(op_name(op), ":", dtype_name(t), " a=", x, " b=", y);
                // Integer division truncates toward zero; a zero divisor yields 0 (the reference throws).
                double want = op == Op::Div ? (y == 0 ? 0 : std::trunc(x / y)) : ref_binary(op, x, y);
                REQUIRE(out.get(i) == round_to_dtype(want, out_t));
            }
        }
    }
    HostBuf a(DType::i64, n);
    for (int64_t i = 0; i < n; ++i) a.set(i, as[static_cast<size_t>(i) % as.size()]);
    for (Op op : {Op::Neg, Op::Abs, Op::Relu}) {
        HostBuf out(DType::i64, n);
        launch(prog->fn(k++), {&a, &out}, n);
        for (int64_t i = 0; i < n; ++i) {
            double x = a.get(i);
            REQUIRE(out.get(i) == (op == Op::Neg ? -x : op == Op::Abs ? std::fabs(x) : std::max(x, 0.0)));
        }
    }
    HostBuf p(DType::boolean, n), q(DType::boolean, n);
    for (int64_t i = 0; i < n; ++i) {
        p.set(i, i & 1);
        q.set(i, (i >> 1) & 1);
    }
    for (Op op : {Op::And, Op::Or, Op::Eq, Op::Lt}) {
        HostBuf out(DType::boolean, n);
        launch(prog->fn(k++), {&p, &q, &out}, n);
        for (int64_t i = 0; i < n; ++i) REQUIRE(out.get(i) == ref_binary(op, p.get(i), q.get(i)));
    }
    HostBuf out(DType::boolean, n);
    launch(prog->fn(k++), {&p, &out}, n);
    for (int64_t i = 0; i < n; ++i) REQUIRE(out.get(i) == 1 - p.get(i));
}

TEST_CASE("sin*cos and pow(2|10, x), once libcall candidates, compile and run") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int n = 100;
    // sin(x) * cos(x) + pow(2, x) + pow(10, x)
    auto k = map_kernel("t_libcalls", {DType::f32}, DType::f32, n, [](const auto& in) {
        auto f = [](Op op, std::vector<kir::ExprRef> a) { return kir::compute(op, DType::f32, std::move(a)); };
        auto sc = f(Op::Mul, {f(Op::Sin, {in[0]}), f(Op::Cos, {in[0]})});
        auto p2 = f(Op::Pow, {kir::constant(2, DType::f32), in[0]});
        auto p10 = f(Op::Pow, {kir::constant(10, DType::f32), in[0]});
        return f(Op::Add, {f(Op::Add, {sc, p2}), p10});
    });
    auto prog = CpuProgram::compile({k});
    HostBuf x(DType::f32, n), out(DType::f32, n);
    std::vector<double> xs = inputs(n, -3, 3);
    for (int i = 0; i < n; ++i) x.set(i, xs[static_cast<size_t>(i)]);
    launch(prog->fn(0), {&x, &out}, n);
    for (int i = 0; i < n; ++i) {
        double v = x.get(i);
        double want = std::sin(v) * std::cos(v) + std::pow(2.0, v) + std::pow(10.0, v);
        REQUIRE(rel_err(out.get(i), want) <= 1e-6);
    }
}
