// Inline transcendental functions of the LLVM renderer (codegen/llvm/llvm_math.h) against the
// reference interpreter's semantics (the fp64 function, rounded to f32): a sweep of every 97th f32
// bit pattern per unary function (and every 997th compiled for x86-64 without FMA), edge cases
// with exact special values, pow over a grid and its C99 special cases, and the optimised IR of
// the loops (vector code, no libm calls).
// Run with `-s` to see the measured worst errors in the passing CHECKs.
#include <cfloat>
#include <limits>
#include <mutex>
#include <regex>

#include "base/env.h"
#include "tests/codegen/llvm_test_util.h"

using namespace pg;
using namespace pg::test;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// 2 f32 ulp at the bottom of a binade, the accuracy the inline functions promise.
constexpr double kMaxRel = 2.4e-7;

double ref_unary(Op op, double x) {
    switch (op) {
        case Op::Exp: return std::exp(x);
        case Op::Log: return std::log(x);
        case Op::Tanh: return std::tanh(x);
        case Op::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
        case Op::Sin: return std::sin(x);
        case Op::Cos: return std::cos(x);
        default: FAIL("not a transcendental"); return 0;
    }
}

float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Worst errors of f32 results against fp64 values: relative where the result is a normal f32,
// in units of the smallest subnormal (2^-149) below that. NaN must match NaN, and where either
// side is infinite (or the reference rounds to infinity) the two must be equal.
struct Errors {
    double rel = 0, sub = 0;
    double rel_at = 0, sub_at = 0;
    int64_t mismatches = 0;
    std::string first_mismatch;

    // where() names the input; it is only called for the first mismatch.
    template <class Where>
    void add(double got, double want, const Where& where) {
        auto bad = [&] {
            if (mismatches++ == 0) first_mismatch = fmt::format("{}: got {} want {}", where(), got, want);
        };
        if (std::isnan(want) || std::isnan(got)) {
            if (std::isnan(want) != std::isnan(got)) bad();
            return;
        }
        double want32 = round_to_dtype(want, DType::f32);
        if (std::isinf(want32) || std::isinf(got)) {
            if (got != want32) bad();
            return;
        }
        if (std::fabs(want) >= FLT_MIN) {
            double e = std::fabs(got - want) / std::fabs(want);
            if (e > rel) rel = e, rel_at = want;
        } else {
            double e = std::fabs(got - want) / 0x1p-149;
            if (e > sub) sub = e, sub_at = want;
        }
    }
    void merge(const Errors& o) {
        if (o.rel > rel) rel = o.rel, rel_at = o.rel_at;
        if (o.sub > sub) sub = o.sub, sub_at = o.sub_at;
        if (mismatches == 0) first_mismatch = o.first_mismatch;
        mismatches += o.mismatches;
    }
    void check(const std::string& what, double max_rel = kMaxRel) const {
        INFO(what, ": worst relative error ", rel, " (result ", rel_at, "), worst subnormal error ", sub,
             " units (result ", sub_at, "), ", mismatches, " special-value mismatches, first: ", first_mismatch);
        CHECK(mismatches == 0);
        CHECK(rel <= max_rel);
        CHECK(sub <= 1.0);
    }
};

kir::Kernel unary_kernel(Op op, int64_t n) {
    return map_kernel(fmt::format("t_math_{}", op_name(op)), {DType::f32}, DType::f32, n,
                      [op](const auto& in) { return kir::compute(op, DType::f32, {in[0]}); });
}

// Evaluates want(i) for every element on the pool and folds the errors.
Errors compare(const HostBuf& out, int64_t n, const std::function<double(int64_t)>& want,
               const std::function<std::string(int64_t)>& where) {
    Errors all;
    std::mutex mu;
    ThreadPool::global().parallel_for(0, n, [&](int64_t lo, int64_t hi) {
        Errors part;
        for (int64_t i = lo; i < hi; ++i) part.add(out.get(i), want(i), [&] { return where(i); });
        std::lock_guard<std::mutex> lock(mu);
        all.merge(part);
    }, 4096);
    return all;
}

// Every stride-th f32 bit pattern through each unary function, compiled with `options`.
void sweep(const CpuCompileOptions& options, uint64_t stride) {
    const std::vector<Op> ops = {Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sin, Op::Cos};
    const int64_t chunk = int64_t{1} << 22;  // elements per launch: 16 MiB per buffer
    const uint64_t patterns = uint64_t{1} << 32;
    std::vector<kir::Kernel> kernels;
    for (Op op : ops) kernels.push_back(unary_kernel(op, chunk));
    auto prog = CpuProgram::compile(kernels, options);
    HostBuf x(DType::f32, chunk), out(DType::f32, chunk);
    for (size_t o = 0; o < ops.size(); ++o) {
        Errors errs;
        for (uint64_t first = 0; first < patterns; first += stride * static_cast<uint64_t>(chunk)) {
            for (int64_t i = 0; i < chunk; ++i) {
                uint64_t b = first + static_cast<uint64_t>(i) * stride;
                float v = from_bits(static_cast<uint32_t>(b < patterns ? b : 0));
                std::memcpy(x.at(i), &v, 4);
            }
            launch(prog->fn(o), {&x, &out}, chunk);
            errs.merge(compare(
                out, chunk, [&](int64_t i) { return ref_unary(ops[o], x.get(i)); },
                [&](int64_t i) { return fmt::format("{}({:a})", op_name(ops[o]), x.get(i)); }));
        }
        errs.check(fmt::format("{} on {}", op_name(ops[o]), options.cpu.empty() ? "the host" : options.cpu));
    }
}

}  // namespace

TEST_CASE("exp, log, tanh, sigmoid, sin, cos: every 97th f32 bit pattern within 2 ulp of fp64") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    sweep({}, 97);
}

TEST_CASE("the same without FMA (x86-64 baseline: llvm.fmuladd is a multiply and an add), every 997th") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    CpuCompileOptions portable;
    portable.cpu = "x86-64";
    sweep(portable, 997);
}

TEST_CASE("transcendental edge cases: specials, overflow and underflow bounds, signed zeros") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const float max_finite_exp = 0x1.62e42ep6f;  // 88.7228317: e^x < FLT_MAX; the next float overflows
    std::vector<double> xs = {0.0, -0.0, kInf, -kInf, kNaN, -kNaN, 1.0, -1.0, 0.5, 2.0, FLT_MIN, -FLT_MIN,
                              FLT_MAX, -FLT_MAX, 0x1p-149, -0x1p-149, 0x1.8p-140, 1e-30, -1e-30, 1e-7, -1e-7,
                              max_finite_exp, std::nextafter(max_finite_exp, 100.0f), 89.0, 100.0,
                              -87.33654, -87.3366, -100.0, -103.9720, -103.9721, -104.0, -105.0, -200.0,
                              0.625, std::nextafter(0.625f, 0.0f), std::nextafter(0.625f, 1.0f), 9.0, 9.1, 10.0,
                              10.5, 44.0, 45.0, -9.1, -45.0, 1.5707963705062866, 3.1415927410125732,
                              4.71238899230957, 6.2831854820251465, 0.78539818525314331, 0.78539812564849854,
                              -1.5707963705062866, 1e4, 1e6, 1.6e7, 16777215.0, 1e10, 1e20, 1e30, 1e38,
                              0x1.fffffep126, 2.5e38};
    const std::vector<Op> ops = {Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sin, Op::Cos};
    const int64_t n = static_cast<int64_t>(xs.size());
    std::vector<kir::Kernel> kernels;
    for (Op op : ops) kernels.push_back(unary_kernel(op, n));
    auto prog = CpuProgram::compile(kernels);
    HostBuf x(DType::f32, n);
    for (int64_t i = 0; i < n; ++i) x.set(i, xs[static_cast<size_t>(i)]);
    for (size_t o = 0; o < ops.size(); ++o) {
        HostBuf out(DType::f32, n);
        launch(prog->fn(o), {&x, &out}, n);
        Errors errs;
        for (int64_t i = 0; i < n; ++i) {
            double v = x.get(i), got = out.get(i), want = ref_unary(ops[o], v);
            std::string where = fmt::format("{}({:a})", op_name(ops[o]), v);
            errs.add(got, want, [&] { return where; });
            // A result the reference gives as a (signed) zero is that zero here.
            double want32 = round_to_dtype(want, DType::f32);
            if (want32 == 0) {
                INFO(where, " = ", got);
                CHECK(got == 0);
                CHECK(std::signbit(got) == std::signbit(want32));
            }
        }
        errs.check(std::string(op_name(ops[o])));
    }
}

TEST_CASE("pow over a grid of bases and exponents within 2 ulp, and every C99 special case") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    // Bases: every 65537th bit pattern (both signs, subnormals, inf and NaN included) plus small
    // integers and their neighbours; exponents: integers, halves, thirds, large and tiny values.
    std::vector<double> as, ys;
    for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 65537) as.push_back(from_bits(static_cast<uint32_t>(b)));
    for (double a : {1.0, 2.0, 3.0, 10.0, 0.5, 0.1}) {
        as.push_back(a);
        as.push_back(std::nextafter(static_cast<float>(a), 0.0f));
        as.push_back(-a);
    }
    for (int k = -12; k <= 12; ++k) ys.push_back(k);
    for (double y : {0.5, -0.5, 1.5, 2.5, -2.5, 1.0 / 3, -1.0 / 3, 0.1, 7.77, -13.3, 40.5, -40.5, 100.0, 127.0,
                     -149.0, 1e-6, -1e-6, 1e-30, 16777215.0, 16777216.0, -16777215.0, 1e10, -1e10, 3e38, -3e38})
        ys.push_back(y);
    const std::vector<double> specials = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, -2.5,
                                          kInf, -kInf, kNaN, 0x1p-149, -0x1p-149, FLT_MAX, -FLT_MAX};
    std::vector<std::pair<double, double>> pairs;
    for (double a : as)
        for (double y : ys) pairs.emplace_back(a, y);
    for (double a : specials)
        for (double y : specials) pairs.emplace_back(a, y);
    const int64_t n = static_cast<int64_t>(pairs.size());
    auto k = map_kernel("t_math_pow", {DType::f32, DType::f32}, DType::f32, n,
                        [](const auto& in) { return kir::compute(Op::Pow, DType::f32, {in[0], in[1]}); });
    auto prog = CpuProgram::compile({k});
    HostBuf a(DType::f32, n), y(DType::f32, n), out(DType::f32, n);
    for (int64_t i = 0; i < n; ++i) {
        a.set(i, pairs[static_cast<size_t>(i)].first);
        y.set(i, pairs[static_cast<size_t>(i)].second);
    }
    launch(prog->fn(0), {&a, &y, &out}, n);
    compare(
        out, n, [&](int64_t i) { return std::pow(a.get(i), y.get(i)); },
        [&](int64_t i) { return fmt::format("pow({:a}, {:a})", a.get(i), y.get(i)); })
        .check("pow");
    // Signed zeros and exact results.
    for (int64_t i = 0; i < n; ++i) {
        double want = round_to_dtype(std::pow(a.get(i), y.get(i)), DType::f32);
        if (want == 0 || std::fabs(want) == 1) {
            INFO("pow(", a.get(i), ", ", y.get(i), ") = ", out.get(i));
            REQUIRE(out.get(i) == want);
            REQUIRE(std::signbit(out.get(i)) == std::signbit(want));
        }
    }
}

TEST_CASE("transcendental loops vectorize: vector arithmetic and no libm calls in the optimised IR") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    TempDir dump;
    env::ScopedOverride dump_dir("PG_DUMP_DIR", dump.str());
    const int64_t n = 1000;
    const std::vector<Op> ops = {Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sin, Op::Cos, Op::Pow};
    std::vector<kir::Kernel> kernels;
    for (Op op : ops) {
        if (op == Op::Pow)
            kernels.push_back(map_kernel("t_math_pow", {DType::f32, DType::f32}, DType::f32, n, [](const auto& in) {
                return kir::compute(Op::Pow, DType::f32, {in[0], in[1]});
            }));
        else
            kernels.push_back(unary_kernel(op, n));
    }
    auto prog = CpuProgram::compile(kernels);
    // With AVX-512 the f32 functions run 16 lanes wide (sin, cos and pow compute in f64: 8 lanes).
    bool avx512 = CpuProgram::target_string({}).find("+avx512f") != std::string::npos;
    for (const kir::Kernel& k : kernels) {
        std::string ir = read_text(dump.path / (k.name + ".ll"));
        INFO(k.name);
        CHECK(std::regex_search(ir, std::regex(R"(fmul <\d+ x (float|double)>)")));
        CHECK(std::regex_search(ir, std::regex(R"(@llvm\.fmuladd\.v\d+f(32|64))")));
        bool f64 = k.name == "t_math_pow" || k.name == "t_math_sin" || k.name == "t_math_cos";
        if (avx512) CHECK(ir.find(f64 ? "<8 x double>" : "<16 x float>") != std::string::npos);
        // Only intrinsics are called: no expf, logf, tanhf, sinf, cosf, powf, nor llvm.exp & co.
        CHECK_FALSE(std::regex_search(ir, std::regex(R"(call [^@\n]*@(?!llvm\.))")));
        CHECK_FALSE(std::regex_search(ir, std::regex(R"(@llvm\.(exp|exp2|log|log2|pow|sin|cos)\.)")));
    }
}
