// Groups of runs and the record test between them (see run_comparison.h).
#include "frontend/report/run_comparison.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace pg::report {
namespace {

// Differences from the group's first run that `ignore` does not name.
std::vector<std::string> relevant_differences(const RunMetrics& a, const RunMetrics& b,
                                              const std::vector<std::string>& ignore) {
    std::vector<std::string> out;
    for (const std::string& d : config_differences(a, b))
        if (std::find(ignore.begin(), ignore.end(), d.substr(0, d.find(':'))) == ignore.end()) out.push_back(d);
    return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string group_lines(const RunGroup& g) {
    SampleSummary loss = summarize(g.val_loss), bpb = summarize(g.val_bpb);
    std::string out = fmt::format("{:<10} n={}  val_loss {:.5f} ± {:.5f}  val_bpb {:.5f} ± {:.5f}\n", g.label, loss.n,
                                  loss.mean, loss.sd, bpb.mean, bpb.sd);
    for (size_t i = 0; i < g.runs.size(); ++i)
        out += fmt::format("    {:<28} seed {:<8} val_loss {:.5f}  val_bpb {:.5f}\n", g.runs[i].name(),
                           g.runs[i].setting("SEED"), g.val_loss[i], g.val_bpb[i]);
    return out;
}

}  // namespace

RunGroup make_group(const std::string& label, std::vector<RunMetrics> runs, const std::vector<std::string>& ignore) {
    PG_CHECK(!runs.empty(), "the {} group has no runs (give --{} RUN_DIR...)", label, label);
    RunGroup g{label, std::move(runs), {}, {}};
    for (const RunMetrics& r : g.runs) {
        std::vector<std::string> diffs = relevant_differences(g.runs.front(), r, ignore);
        PG_CHECK(diffs.empty(), "the {} group mixes configurations: {} and {} differ in {} (a group is the seeds "
                 "of one configuration{})", label, g.runs.front().name(), r.name(), join(diffs, "; "),
                 ignore.empty() && label == "submission" ? "" : "; --ignore NAME,... if a difference does not matter");
        g.val_loss.push_back(r.final_scores().roundtrip_val_loss);
        g.val_bpb.push_back(r.final_scores().roundtrip_val_bpb);
    }
    return g;
}

Comparison compare_groups(RunGroup baseline, RunGroup candidate, double margin) {
    Comparison c{std::move(baseline), std::move(candidate), {}, margin, 0};
    c.test = record_test(c.baseline.val_loss, c.candidate.val_loss, margin);
    c.bpb_improvement = summarize(c.baseline.val_bpb).mean - summarize(c.candidate.val_bpb).mean;
    return c;
}

std::string comparison_text(const Comparison& c) {
    const TTestResult& t = c.test;
    std::string out = group_lines(c.baseline) + group_lines(c.candidate);
    out += fmt::format("improvement: {:+.5f} nats val_loss ({:+.5f} val_bpb), baseline minus candidate\n",
                       t.improvement, c.bpb_improvement);
    out += fmt::format("{} t-test of improvement > {} nats: t = {:.3f}, df = {:.2f}, one-sided p = {:.4g}\n",
                       t.test, c.margin, t.t, t.df, t.p);
    const bool enough = t.improvement >= c.margin, significant = t.p < kRecordSignificance;
    if (enough && significant)
        out += fmt::format("verdict: the candidate is better by at least {} nats with p < {}: it passes the "
                           "challenge's record test\n", c.margin, kRecordSignificance);
    else if (t.improvement > 0)
        out += fmt::format("verdict: the candidate is better on average, but {} (the record test needs an "
                           "improvement of at least {} nats with p < {}; more seeds narrow the interval)\n",
                           enough ? "not significantly" : "by less than the margin", c.margin, kRecordSignificance);
    else
        out += "verdict: the candidate is not better than the baseline\n";
    return out;
}

}  // namespace pg::report
