// LLVM renderer + CpuProgram: loop structure — row reductions with accumulators (and that LLVM
// vectorizes them), StoreAdd, IDiv/IMod index math, 2-D loop nests, Lets, kernels without a
// parallel loop, and the PG_DUMP_DIR dumps.
#include <limits>
#include <regex>

#include "base/env.h"
#include "tests/codegen/llvm_test_util.h"

using namespace pg;
using namespace pg::test;

namespace {

kir::ExprRef v64(int var) { return kir::var(var, DType::i64); }

// sum[r] = sum_c x[r, c]; mx[r] = max_c x[r, c] (x is rows x cols f32).
kir::Kernel row_reduce_kernel(int64_t rows, int64_t cols) {
    kir::Kernel k;
    k.name = "t_row_reduce";
    k.buffers = {{"x", DType::f32, rows * cols, false}, {"sum", DType::f32, rows, true}, {"mx", DType::f32, rows, true}};
    int r = k.new_var("r", DType::i64), c = k.new_var("c", DType::i64);
    int s = k.new_var("s", DType::f32), m = k.new_var("m", DType::f32);
    auto x = kir::load(0, DType::f32, kir::iadd(kir::imul(v64(r), kir::index_const(cols)), v64(c)));
    k.body = {loop(r, rows,
                   {acc_init(s, kir::constant(0, DType::f32)),
                    acc_init(m, kir::constant(-std::numeric_limits<double>::infinity(), DType::f32)),
                    loop(c, cols, {acc_update(s, Op::Add, x), acc_update(m, Op::Max, x)}),
                    store(1, v64(r), kir::var(s, DType::f32)), store(2, v64(r), kir::var(m, DType::f32))},
                   true)};
    return k;
}

}  // namespace

TEST_CASE("row reductions with accumulators: sum and max, vectorized, NaN-propagating max") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    TempDir dump;
    env::ScopedOverride dump_dir("PG_DUMP_DIR", dump.str());
    const int64_t rows = 37, cols = 1003;
    auto prog = CpuProgram::compile({row_reduce_kernel(rows, cols)});
    HostBuf x(DType::f32, rows * cols), sum(DType::f32, rows), mx(DType::f32, rows);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(-1, 1);
    for (int64_t i = 0; i < rows * cols; ++i) x.set(i, d(rng));
    x.set(5 * cols + 17, std::numeric_limits<double>::quiet_NaN());  // row 5 holds a NaN
    x.set(9 * cols + 1000, 7.0);                                     // row 9's max is near the end
    launch(prog->fn(0), {&x, &sum, &mx}, rows);
    for (int64_t r = 0; r < rows; ++r) {
        double s = 0, abs_sum = 0, m = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) {
            double v = x.get(r * cols + c);
            s += v;
            abs_sum += std::fabs(v);
            m = std::isnan(m) || m > v ? m : v;
        }
        INFO("row ", r);
        if (r == 5) {
            CHECK(std::isnan(sum.get(r)));
            CHECK(std::isnan(mx.get(r)));
            continue;
        }
        // A reassociated f32 sum of n terms errs by at most ~n * eps * sum |x|.
        CHECK(std::fabs(sum.get(r) - s) <= 1e-4 * abs_sum);
        CHECK(mx.get(r) == m);
    }
    // The optimised IR shows vector reductions.
    std::string ir = read_text(dump.path / "t_row_reduce.ll");
    CHECK(std::filesystem::exists(dump.path / "t_row_reduce.kir"));
    CHECK(read_text(dump.path / "t_row_reduce.kir") == kir::to_string(row_reduce_kernel(rows, cols)));
    CHECK(std::regex_search(ir, std::regex(R"(fadd reassoc <\d+ x float>)")));
    CHECK(std::regex_search(ir, std::regex(R"(@llvm\.maxnum\.v\d+f32)")));
}

TEST_CASE("StoreAdd accumulates serially, repeated indices included (f32 and bf16)") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t n = 200, v = 10, width = 3;
    std::vector<kir::Kernel> kernels;
    for (DType t : {DType::f32, DType::bf16}) {
        // out[idx[i], j] += src[i, j] — a serial loop (scatter-add is not parallel over i).
        kir::Kernel k;
        k.name = fmt::format("t_scatter_{}", dtype_name(t));
        k.buffers = {{"idx", DType::i64, n, false}, {"src", t, n * width, false}, {"out", t, v * width, true}};
        int i = k.new_var("i", DType::i64), j = k.new_var("j", DType::i64), row = k.new_var("row", DType::i64);
        k.body = {loop(i, n,
                       {let(row, kir::load(0, DType::i64, v64(i))),
                        loop(j, width,
                             {store(2, kir::iadd(kir::imul(v64(row), kir::index_const(width)), v64(j)),
                                    kir::load(1, t, kir::iadd(kir::imul(v64(i), kir::index_const(width)), v64(j))),
                                    true)})})};
        kernels.push_back(std::move(k));
    }
    auto prog = CpuProgram::compile(kernels);
    size_t kernel = 0;
    for (DType t : {DType::f32, DType::bf16}) {
        HostBuf idx(DType::i64, n), src(t, n * width), out(t, v * width);
        for (int64_t i = 0; i < n; ++i) idx.set(i, (i * 7) % v);
        for (int64_t i = 0; i < n * width; ++i) src.set(i, 0.01 * static_cast<double>(i % 13) + 0.5);
        for (int64_t i = 0; i < v * width; ++i) out.set(i, 1.0);
        std::vector<double> want(static_cast<size_t>(v * width), 1.0);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < width; ++j) {
                double& w = want[static_cast<size_t>(static_cast<int64_t>(idx.get(i)) * width + j)];
                w = round_to_dtype(w + src.get(i * width + j), t);
            }
        launch_range(prog->fn(kernel++), {&idx, &src, &out}, 0, 1);
        for (int64_t i = 0; i < v * width; ++i) REQUIRE(out.get(i) == want[static_cast<size_t>(i)]);
    }
}

TEST_CASE("IDiv/IMod index math: a transpose over one flat parallel loop") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t rows = 13, cols = 29;
    kir::Kernel k;
    k.name = "t_transpose_flat";
    k.buffers = {{"x", DType::f32, rows * cols, false}, {"y", DType::f32, rows * cols, true}};
    int p = k.new_var("p", DType::i64), i = k.new_var("i", DType::i64), j = k.new_var("j", DType::i64);
    k.body = {loop(p, rows * cols,
                   {let(i, kir::idiv(v64(p), kir::index_const(cols))), let(j, kir::imod(v64(p), kir::index_const(cols))),
                    store(1, kir::iadd(kir::imul(v64(j), kir::index_const(rows)), v64(i)), kir::load(0, DType::f32, v64(p)))},
                   true)};
    auto prog = CpuProgram::compile({k});
    HostBuf x(DType::f32, rows * cols), y(DType::f32, rows * cols);
    for (int64_t e = 0; e < rows * cols; ++e) x.set(e, static_cast<double>(e));
    launch(prog->fn(0), {&x, &y}, rows * cols);
    for (int64_t a = 0; a < rows; ++a)
        for (int64_t b = 0; b < cols; ++b) REQUIRE(y.get(b * rows + a) == x.get(a * cols + b));
}

TEST_CASE("2-D loop nest: parallel rows, inner columns, loop vars in values") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t rows = 17, cols = 40;
    kir::Kernel k;
    k.name = "t_nest";
    k.buffers = {{"x", DType::bf16, rows * cols, false}, {"y", DType::f32, rows * cols, true}};
    int i = k.new_var("i", DType::i64), j = k.new_var("j", DType::i64), fi = k.new_var("fi", DType::f32);
    auto flat = kir::iadd(kir::imul(v64(i), kir::index_const(cols)), v64(j));
    // y[i, j] = f32(x[i, j]) * f32(i) + f32(j % 5)
    k.body = {loop(i, rows,
                   {let(fi, kir::compute(Op::Cast, DType::f32, {v64(i)})),
                    loop(j, cols,
                         {store(1, flat,
                                kir::compute(Op::Add, DType::f32,
                                             {kir::compute(Op::Mul, DType::f32,
                                                           {kir::compute(Op::Cast, DType::f32, {kir::load(0, DType::bf16, flat)}),
                                                            kir::var(fi, DType::f32)}),
                                              kir::compute(Op::Cast, DType::f32, {kir::imod(v64(j), kir::index_const(5))})}))})},
                   true)};
    auto prog = CpuProgram::compile({k});
    HostBuf x(DType::bf16, rows * cols), y(DType::f32, rows * cols);
    for (int64_t e = 0; e < rows * cols; ++e) x.set(e, 0.1 * static_cast<double>(e % 31) - 1);
    // Rows in two uneven pieces, as two threads would run them.
    launch_range(prog->fn(0), {&x, &y}, 0, 5);
    launch_range(prog->fn(0), {&x, &y}, 5, rows);
    for (int64_t a = 0; a < rows; ++a)
        for (int64_t b = 0; b < cols; ++b) {
            double want = round_to_dtype(round_to_dtype(x.get(a * cols + b) * static_cast<double>(a), DType::f32) +
                                             static_cast<double>(b % 5),
                                         DType::f32);
            REQUIRE(y.get(a * cols + b) == want);
        }
}

TEST_CASE("a kernel without a leading parallel loop ignores begin/end") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    const int64_t n = 50;
    kir::Kernel k;
    k.name = "t_serial";
    k.buffers = {{"x", DType::f32, n, false}, {"total", DType::f32, 1, true}, {"y", DType::f32, n, true}};
    int s = k.new_var("s", DType::f32), i = k.new_var("i", DType::i64), tot = k.new_var("tot", DType::f32);
    int e = k.new_var("e", DType::i64);
    auto x_e = kir::load(0, DType::f32, v64(e));
    k.body = {acc_init(s, kir::constant(0, DType::f32)),
              loop(i, n, {acc_update(s, Op::Add, kir::load(0, DType::f32, v64(i)))}),
              let(tot, kir::var(s, DType::f32)),
              store(1, kir::index_const(0), kir::var(tot, DType::f32)),
              // y[e] = x[e] / total: a second loop reading the accumulator's final value
              loop(e, n, {store(2, v64(e), kir::compute(Op::Div, DType::f32, {x_e, kir::var(tot, DType::f32)}))})};
    auto prog = CpuProgram::compile({k});
    HostBuf x(DType::f32, n), total(DType::f32, 1), y(DType::f32, n);
    for (int64_t a = 0; a < n; ++a) x.set(a, static_cast<double>(a + 1));
    launch_range(prog->fn(0), {&x, &total, &y}, 7, 3);
    CHECK(total.get(0) == 1275.0);
    for (int64_t a = 0; a < n; ++a) REQUIRE(y.get(a) == round_to_dtype(static_cast<double>(a + 1) / 1275.0, DType::f32));
}

TEST_CASE("kernels with a parallel extent of zero and empty ranges run nothing") {
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    auto k = map_kernel("t_empty", {DType::f32}, DType::f32, 0, [](const auto& in) { return in[0]; });
    auto k2 = map_kernel("t_small", {DType::f32}, DType::f32, 4, [](const auto& in) { return in[0]; });
    auto prog = CpuProgram::compile({k, k2});
    HostBuf x(DType::f32, 4), y(DType::f32, 4);
    for (int64_t a = 0; a < 4; ++a) x.set(a, static_cast<double>(a + 1));
    launch_range(prog->fn(0), {&x, &y}, 0, 4);
    launch_range(prog->fn(1), {&x, &y}, 2, 2);
    for (int64_t a = 0; a < 4; ++a) CHECK(y.get(a) == 0.0);
    CHECK(prog->stats().kernels == 2);
}

TEST_CASE("duplicate kernel names are an internal error") {
    auto k = map_kernel("t_dup", {DType::f32}, DType::f32, 4, [](const auto& in) { return in[0]; });
    CHECK_THROWS_AS(CpuProgram::compile({k, k}), InternalError);
}
