// `pgolf report`'s figure and summary (see run_report.h).
#include "frontend/report/run_report.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::report {
namespace {

template <class Point, class X, class Y>
Series series_of(const std::string& label, const std::vector<Point>& points, X x, Y y) {
    Series s{label, {}, {}};
    for (const Point& p : points) {
        s.x.push_back(x(p));
        s.y.push_back(y(p));
    }
    return s;
}

std::string cell(double v, int decimals) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : "-"; }

// Settings in which the runs differ (besides seeds and names), each with its value per run.
std::string differences_section(const std::vector<RunMetrics>& runs) {
    std::set<std::string> keys;
    for (size_t i = 1; i < runs.size(); ++i)
        for (const std::string& d : config_differences(runs[0], runs[i])) keys.insert(d.substr(0, d.find(':')));
    if (keys.empty()) return "All runs share one configuration (they differ at most in seed and name).\n";
    std::string md = "Settings that differ:\n\n| setting |", rule = "| --- |";
    for (const RunMetrics& r : runs) {
        md += fmt::format(" {} |", r.name());
        rule += " --- |";
    }
    md += "\n" + rule + "\n";
    for (const std::string& k : keys) {
        md += fmt::format("| {} |", k);
        for (const RunMetrics& r : runs) md += fmt::format(" {} |", r.setting(k));
        md += "\n";
    }
    return md;
}

}  // namespace

Figure curves_figure(const std::vector<RunMetrics>& runs) {
    Panel loss_step{"train loss", "step", "train loss (nats)", {}, {}};
    Panel bpb_step{"validation", "step", "val_bpb", {}, {}};
    Panel loss_time{"train loss", "training time (s)", "train loss (nats)", {}, {}};
    Panel bpb_time{"validation", "training time (s)", "val_bpb", {}, {}};
    auto seconds = [](const auto& p) { return p.train_time_ms / 1000; };
    for (const RunMetrics& r : runs) {
        auto step = [](const auto& p) { return static_cast<double>(p.step); };
        auto loss = [](const TrainPoint& p) { return p.train_loss; };
        auto bpb = [](const ValPoint& p) { return p.val_bpb; };
        loss_step.series.push_back(series_of(r.name(), r.train, step, loss));
        bpb_step.series.push_back(series_of(r.name(), r.val, step, bpb));
        loss_time.series.push_back(series_of(r.name(), r.train, seconds, loss));
        bpb_time.series.push_back(series_of(r.name(), r.val, seconds, bpb));
    }
    return Figure{{loss_step, bpb_step, loss_time, bpb_time}, 2, 1400, 1000};
}

std::string summary_markdown(const std::vector<RunMetrics>& runs, const std::string& image) {
    std::string md = fmt::format("# pgolf report: {} run{}\n\n![curves]({})\n\n", runs.size(),
                                 runs.size() == 1 ? "" : "s", image);
    md += "| run | seed | params | steps | train time | val_loss | val_bpb | round-trip val_bpb | artifact bytes | "
          "total bytes |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const RunMetrics& r : runs) {
        if (!r.final) {
            double bpb = r.val.empty() ? NAN : r.val.back().val_bpb;
            md += fmt::format("| {} | {} | {} | (unfinished) | | | {} | | | |\n", r.name(), r.setting("SEED"),
                              r.model_params, cell(bpb, 4));
            continue;
        }
        const FinalScores& f = *r.final;
        md += fmt::format("| {} | {} | {} | {} | {:.1f} s | {} | {} | {} | {} | {} |\n", r.name(), r.setting("SEED"),
                          r.model_params, f.steps, f.train_time_ms / 1000, cell(f.val_loss, 4), cell(f.val_bpb, 4),
                          cell(f.roundtrip_val_bpb, 4), f.artifact_bytes, f.total_bytes);
    }
    md += "\n" + differences_section(runs);
    md += "\nRun folders:\n\n";
    for (const RunMetrics& r : runs) md += fmt::format("- {}: `{}` (RUN_ID {})\n", r.name(), r.dir.string(), r.run_id);
    return md;
}

std::vector<std::filesystem::path> write_report(const std::vector<RunMetrics>& runs, const std::filesystem::path& out) {
    PG_CHECK(!runs.empty(), "pgolf report needs at least one run folder");
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    PG_CHECK(!ec, "cannot create the report folder {}: {}", out.string(), ec.message());
    std::filesystem::path png = out / "report.png", md = out / "report.md";
    write_png(png, curves_figure(runs));
    io::write_file_atomically(md, summary_markdown(runs, "report.png"));
    return {png, md};
}

}  // namespace pg::report
