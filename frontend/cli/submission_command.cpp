// `pgolf submission RUN_DIR... --out DIR [--artifact-seed N]`: a records-style submission folder
// from finished runs (frontend/report/submission_folder.h).
#include <fmt/format.h>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/report/submission_folder.h"

namespace pg::cli {
namespace {

int run_submission(std::vector<std::string> args) {
    std::string out, seed;
    std::vector<std::filesystem::path> dirs;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string* target = a.starts_with("--out") ? &out : a.starts_with("--artifact-seed") ? &seed : nullptr;
        if (a.rfind("--", 0) != 0) {
            dirs.emplace_back(a);
            continue;
        }
        PG_CHECK(target != nullptr, "pgolf submission: unknown option {} (options: --out DIR, --artifact-seed N)", a);
        if (auto eq = a.find('='); eq != std::string::npos) {
            *target = a.substr(eq + 1);
        } else {
            PG_CHECK(i + 1 < args.size(), "pgolf submission: {} needs a value", a);
            *target = args[++i];
        }
    }
    PG_CHECK(!dirs.empty() && !out.empty(), "usage: pgolf submission RUN_DIR... --out DIR [--artifact-seed N]");
    std::vector<report::RunMetrics> runs;
    for (const auto& d : report::expand_run_dirs(dirs)) runs.push_back(report::load_run(d));
    for (const auto& f : report::write_submission_folder(runs, out, seed)) fmt::print("wrote {}\n", f.string());
    return 0;
}

PG_COMMAND({.name = "submission",
            .summary = "a records-style submission folder (README, submission.json, logs, artifact) from runs",
            .usage = "pgolf submission RUN_DIR... --out DIR [--artifact-seed N]\n\n"
                     "RUN_DIR: finished runs of one configuration (a SEEDS run's RUN_DIR stands for its seeds).\n"
                     "Writes DIR (new or empty) with README.md (settings, per-seed results, mean and sd, sizes),\n"
                     "submission.json (the challenge's fields; val_loss / val_bpb the mean over seeds, each seed\n"
                     "listed), train_seed<N>.log and metrics_seed<N>.jsonl of every seed and the artifact of the\n"
                     "first seed (or of --artifact-seed). Refuses runs over the 16,000,000-byte cap. The identity\n"
                     "fields come from the runs' submission.json, or SUBMISSION_NAME / _AUTHOR / _GITHUB_ID /\n"
                     "_BLURB given now.",
            .run = run_submission});

}  // namespace
}  // namespace pg::cli
