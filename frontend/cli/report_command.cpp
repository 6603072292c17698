// `pgolf report RUN_DIR... [--out DIR]`: a PNG of train loss and val_bpb against step and training
// time for one or several runs, and a Markdown summary of their final figures (frontend/report/).
#include <fmt/format.h>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/report/run_report.h"

namespace pg::cli {
namespace {

int run_report(std::vector<std::string> args) {
    std::filesystem::path out = "report";
    std::vector<std::filesystem::path> dirs;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--out" || args[i].rfind("--out=", 0) == 0) {
            PG_CHECK(args[i] != "--out" || i + 1 < args.size(), "pgolf report: --out needs a folder");
            out = args[i] == "--out" ? args[++i] : args[i].substr(6);
            continue;
        }
        PG_CHECK(args[i].rfind("--", 0) != 0, "pgolf report: unknown option {} (options: --out DIR)", args[i]);
        dirs.emplace_back(args[i]);
    }
    PG_CHECK(!dirs.empty(), "pgolf report needs run folders: pgolf report RUN_DIR... [--out DIR]");
    std::vector<report::RunMetrics> runs;
    for (const auto& d : report::expand_run_dirs(dirs)) runs.push_back(report::load_run(d));
    for (const auto& path : report::write_report(runs, out)) fmt::print("wrote {}\n", path.string());
    return 0;
}

PG_COMMAND({.name = "report",
            .summary = "plot and tabulate runs: train loss and val_bpb curves (PNG) and final figures (Markdown)",
            .usage = "pgolf report RUN_DIR... [--out DIR]\n\n"
                     "Reads each run's metrics.jsonl (a RUN_DIR of a SEEDS run stands for its seed runs) and\n"
                     "writes DIR/report.png (train loss and val_bpb against step and against training time) and\n"
                     "DIR/report.md (a table of each run's final figures and the settings in which they differ).\n"
                     "DIR defaults to ./report.",
            .run = run_report});

}  // namespace
}  // namespace pg::cli
