// The challenge's record test (pgolf-spec §6): a new record must beat the current one by at least
// 0.005 nats of val_loss, with enough seeds to show p < 0.01. Lower loss is better, so the
// improvement is mean(baseline) - mean(candidate) and the one-sided test is
//   H0: improvement <= margin   against   H1: improvement > margin.
// With several baseline runs it is Welch's t-test (unequal variances, Welch–Satterthwaite degrees
// of freedom); with one baseline value (a published record's mean) the one-sample t-test of the
// candidate runs against that value minus the margin, as the records' READMEs compute it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pg::report {

inline constexpr double kRecordMarginNats = 0.005;
inline constexpr double kRecordSignificance = 0.01;

struct SampleSummary {
    int64_t n = 0;
    double mean = 0, sd = 0;  // sd: the sample standard deviation (n - 1 in the denominator); 0 when n = 1
};
SampleSummary summarize(const std::vector<double>& values);

struct TTestResult {
    std::string test;  // "welch" or "one-sample"
    double improvement = 0;  // mean(baseline) - mean(candidate)
    double t = 0, df = 0, p = 1;  // p: one-sided, of H1 improvement > margin
};

// Welch's test (both groups need >= 2 values) or, with exactly one baseline value, the one-sample
// test (the candidate needs >= 2 values). pg::Error naming the group otherwise.
TTestResult record_test(const std::vector<double>& baseline, const std::vector<double>& candidate,
                        double margin = kRecordMarginNats);

// P(T > t) for Student's t with `df` degrees of freedom (Boost.Math).
double student_t_sf(double t, double df);

}  // namespace pg::report
