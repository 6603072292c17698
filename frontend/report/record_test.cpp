// The record test's statistics (see record_test.h).
#include "frontend/report/record_test.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <numeric>

#include "base/error.h"

namespace pg::report {

SampleSummary summarize(const std::vector<double>& values) {
    SampleSummary s;
    s.n = static_cast<int64_t>(values.size());
    if (values.empty()) return s;
    s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(s.n);
    if (s.n < 2) return s;
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(s.n - 1));
    return s;
}

double student_t_sf(double t, double df) {
    boost::math::students_t dist(df);
    return boost::math::cdf(boost::math::complement(dist, t));
}

namespace {

// p of H1 (improvement > margin) from the excess over the margin and its standard error; a zero
// standard error (identical values) makes the answer certain either way.
void finish(TTestResult& r, double margin, double se) {
    double excess = r.improvement - margin;
    if (se <= 0) {
        r.t = excess > 0 ? INFINITY : -INFINITY;
        r.p = excess > 0 ? 0.0 : 1.0;
        return;
    }
    r.t = excess / se;
    r.p = student_t_sf(r.t, r.df);
}

}  // namespace

TTestResult record_test(const std::vector<double>& baseline, const std::vector<double>& candidate, double margin) {
    PG_CHECK(!baseline.empty(), "the baseline group has no runs");
    PG_CHECK(candidate.size() >= 2,
             "the candidate group has {} run(s): a p-value needs at least 2 seeds (run with SEEDS=1337,42,2025)",
             candidate.size());
    SampleSummary b = summarize(baseline), c = summarize(candidate);
    TTestResult r;
    r.improvement = b.mean - c.mean;
    const double vc = c.sd * c.sd / static_cast<double>(c.n);
    if (b.n == 1) {
        r.test = "one-sample";
        r.df = static_cast<double>(c.n - 1);
        finish(r, margin, std::sqrt(vc));
        return r;
    }
    r.test = "welch";
    const double vb = b.sd * b.sd / static_cast<double>(b.n);
    const double den = vb * vb / static_cast<double>(b.n - 1) + vc * vc / static_cast<double>(c.n - 1);
    r.df = den > 0 ? (vb + vc) * (vb + vc) / den : static_cast<double>(b.n + c.n - 2);
    finish(r, margin, std::sqrt(vb + vc));
    return r;
}

}  // namespace pg::report
