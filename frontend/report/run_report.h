// `pgolf report`'s content: for one or several runs, a figure of train loss and val_bpb against
// step and against training time, and a Markdown summary with a table of their final figures and
// the settings in which they differ.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "frontend/report/plot.h"
#include "frontend/report/run_metrics.h"

namespace pg::report {

// Four panels: train loss / val_bpb against step, then against training time (seconds).
Figure curves_figure(const std::vector<RunMetrics>& runs);

// The Markdown summary; `image` is the figure's file name, linked from the page.
std::string summary_markdown(const std::vector<RunMetrics>& runs, const std::string& image);

// Writes <out>/report.png and <out>/report.md (creating `out`); returns the two paths.
std::vector<std::filesystem::path> write_report(const std::vector<RunMetrics>& runs, const std::filesystem::path& out);

}  // namespace pg::report
