// FakeQuant (ops/fake_quant): the interpreter's values against the per-row int-N quantise–
// dequantise written here in fp64 from pgolf-spec §4.5 (scale = max(rowmax/R, 1/R), round half
// away from zero, clamp to [−R−1, R]); the straight-through gradient (the identity) through
// autodiff; and the CPU JIT against the interpreter on the forward value and the gradient.
//
// Tolerances: the forward value is exact up to f32 rounding of x/scale and q·scale (two
// roundings, 2^-23 relative) — 1e-6; inputs are continuous random values, so no element sits on a
// rounding boundary (a half) where f32 and fp64 could round differently. The STE gradient is the
// incoming gradient cast through, exact: 0.
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <random>
#include <set>

#include "graph/autodiff.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "tests/support/jit_check.h"

using namespace pg;
namespace b = pg::build;

namespace {

std::vector<double> reference(const std::vector<double>& x, int64_t rows, int64_t cols, int bits) {
    const double R = std::pow(2.0, bits - 1) - 1;
    std::vector<double> out(x.size());
    for (int64_t r = 0; r < rows; ++r) {
        double m = 0;
        for (int64_t c = 0; c < cols; ++c) m = std::max(m, std::fabs(x[r * cols + c]));
        const double s = std::max(m / R, 1.0 / R);
        for (int64_t c = 0; c < cols; ++c) {
            double y = x[r * cols + c] / s;
            double q = std::clamp(y < 0 ? -std::floor(-y + 0.5) : std::floor(y + 0.5), -R - 1, R);
            out[r * cols + c] = q * s;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("fake_quant: per-row int-N values as the records' STE QAT, and a straight-through gradient") {
    const int64_t rows = 6, cols = 40;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> d(0, 1);
    std::vector<double> x(rows * cols), c(rows * cols);
    for (size_t i = 0; i < x.size(); ++i) {
        // Rows 0-2 have max > 1 (scale rowmax/R), rows 3-5 are small (the 1/R floor binds).
        x[i] = d(rng) * (i < x.size() / 2 ? 2.0 : 0.02);
        c[i] = d(rng);
    }
    for (int bits : {4, 6, 8}) {
        Graph g;
        Feeds feeds{{"x", HostTensor::from_doubles(DType::f32, {rows, cols}, x)},
                    {"c", HostTensor::from_doubles(DType::f32, {rows, cols}, c)}};
        NodeId xi = b::input(g, "x", {rows, cols}, DType::f32);
        NodeId ci = b::input(g, "c", {rows, cols}, DType::f32);
        NodeId xp = b::param(g, "w", {rows, cols});
        feeds["w"] = feeds["x"];
        NodeId fq = b::fake_quant(g, b::add(g, xi, b::mul(g, xp, 0.0)), bits);
        NodeId loss = b::sum(g, b::mul(g, b::fake_quant(g, xp, bits), ci), {0, 1});
        loss = b::reshape(g, loss, {});
        NodeId grad = gradients(g, loss, {xp})[0];
        g.set_output("q", fq);
        g.set_output("grad", grad);
        std::vector<HostTensor> got = interpret(g, feeds, {fq, grad});
        std::vector<double> want = reference(feeds["x"].to_doubles(), rows, cols, bits);
        std::vector<double> q = got[0].to_doubles(), gr = got[1].to_doubles();
        double err = 0, scale = 0;
        for (size_t i = 0; i < q.size(); ++i) {
            err = std::max(err, std::fabs(q[i] - want[i]));
            scale = std::max(scale, std::fabs(want[i]));
        }
        INFO("bits ", bits);
        CHECK(err <= 1e-6 * scale);
        CHECK(gr == feeds["c"].to_doubles());  // straight-through: d/dw of sum(c * q(w)) = c
        // Quantisation really happened: at most 2^bits distinct levels per row.
        std::set<double> levels(q.begin(), q.begin() + cols);
        CHECK(static_cast<int64_t>(levels.size()) <= (int64_t{1} << bits));
        testing::check_jit(g, feeds, 1e-6);
    }
}
