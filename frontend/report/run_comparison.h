// `pgolf compare`'s content: two groups of runs (seeds of one configuration each), their submitted
// scores (val_loss / val_bpb of the artifact read back), and the challenge's record test between
// them (record_test.h), as a plain-text verdict.
#pragma once
#include <string>
#include <vector>

#include "frontend/report/record_test.h"
#include "frontend/report/run_metrics.h"

namespace pg::report {

struct RunGroup {
    std::string label;  // "baseline", "candidate"
    std::vector<RunMetrics> runs;
    std::vector<double> val_loss, val_bpb;  // round-trip scores, one per run
};

// Checks that the runs are one configuration (pg::Error listing the differing settings, minus those
// in `ignore`) and that each finished, and collects their scores.
RunGroup make_group(const std::string& label, std::vector<RunMetrics> runs, const std::vector<std::string>& ignore);

struct Comparison {
    RunGroup baseline, candidate;
    TTestResult test;  // on val_loss, with the margin below
    double margin = kRecordMarginNats;
    double bpb_improvement = 0;
};

Comparison compare_groups(RunGroup baseline, RunGroup candidate, double margin = kRecordMarginNats);

// The report: per group n, mean and sd of val_loss and val_bpb, then the improvement, t, df, p and
// the verdict against the margin and p < 0.01.
std::string comparison_text(const Comparison& c);

}  // namespace pg::report
