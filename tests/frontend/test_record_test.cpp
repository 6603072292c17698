// The record test's statistics against closed forms: Student's t survival function for 1, 2 and 4
// degrees of freedom (where the CDF is elementary), the sample standard deviation, the one-sample
// test with 3 runs (df = 2) and Welch's test with two groups of 3 and equal variances (df = 4
// exactly), and the refusal of a p-value from a single candidate run.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "base/error.h"
#include "frontend/report/record_test.h"

namespace {

using pg::report::record_test;
using pg::report::student_t_sf;

// Closed forms of P(T > t): Cauchy for df = 1; for df = 2 and 4 from integrating the density
// (checked against numerical integration when written: df 4, t 3.747 -> 0.0099995).
double sf1(double t) { return 0.5 - std::atan(t) / std::numbers::pi; }
double sf2(double t) { return 0.5 - t / (2 * std::sqrt(t * t + 2)); }
double sf4(double t) {
    double u = 1 + t * t / 4;
    return 0.5 - 0.375 * (t / std::sqrt(u)) * (1 - t * t / (12 * u));
}

}  // namespace

TEST_CASE("student_t_sf matches the closed forms for 1, 2 and 4 degrees of freedom") {
    for (double t : {-2.0, 0.0, 0.5, 1.7, 3.747, 6.965}) {
        INFO("t = ", t);
        CHECK(student_t_sf(t, 1) == doctest::Approx(sf1(t)).epsilon(1e-12));
        CHECK(student_t_sf(t, 2) == doctest::Approx(sf2(t)).epsilon(1e-12));
        CHECK(student_t_sf(t, 4) == doctest::Approx(sf4(t)).epsilon(1e-12));
    }
    // The textbook one-sided 1% critical values: df 2 -> 6.965, df 10 -> 2.764.
    CHECK(student_t_sf(6.964557, 2) == doctest::Approx(0.01).epsilon(1e-5));
    CHECK(student_t_sf(2.763769, 10) == doctest::Approx(0.01).epsilon(1e-5));
}

TEST_CASE("summarize gives the mean and the n-1 standard deviation") {
    auto s = pg::report::summarize({2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0});
    CHECK(s.n == 8);
    CHECK(s.mean == doctest::Approx(5.0));
    CHECK(s.sd == doctest::Approx(std::sqrt(32.0 / 7.0)));
    CHECK(pg::report::summarize({1.5}).sd == 0);
}

TEST_CASE("record_test: one-sample against a single baseline value (df = n - 1)") {
    // Candidate mean 1.0, sd 0.01 (values 0.99, 1.00, 1.01); baseline 1.02: improvement 0.02,
    // excess over the 0.005 margin 0.015, standard error 0.01 / sqrt(3).
    auto r = record_test({1.02}, {0.99, 1.00, 1.01});
    CHECK(r.test == "one-sample");
    CHECK(r.improvement == doctest::Approx(0.02));
    CHECK(r.df == 2);
    double t = 0.015 / (0.01 / std::sqrt(3.0));
    CHECK(r.t == doctest::Approx(t));
    CHECK(r.p == doctest::Approx(sf2(t)).epsilon(1e-10));
}

TEST_CASE("record_test: Welch with equal variances and sizes has 2(n-1) degrees of freedom") {
    // Both groups have sd 0.01; means 1.03 and 1.00.
    auto r = record_test({1.02, 1.03, 1.04}, {0.99, 1.00, 1.01});
    CHECK(r.test == "welch");
    CHECK(r.df == doctest::Approx(4.0));
    double t = (0.03 - 0.005) / std::sqrt(2 * 0.0001 / 3);
    CHECK(r.t == doctest::Approx(t));
    CHECK(r.p == doctest::Approx(sf4(t)).epsilon(1e-10));
    // A candidate worse than the baseline gets a p-value near 1.
    CHECK(record_test({0.99, 1.00, 1.01}, {1.02, 1.03, 1.04}).p > 0.99);
}

TEST_CASE("record_test refuses a p-value from fewer than two candidate runs") {
    CHECK_THROWS_WITH_AS(record_test({1.0, 1.1}, {0.9}), doctest::Contains("at least 2 seeds"), pg::Error);
    CHECK_THROWS_AS(record_test({}, {0.9, 0.8}), pg::Error);
}
