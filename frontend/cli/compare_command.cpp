// `pgolf compare --baseline RUN... --candidate RUN...`: the challenge's record test between two
// groups of seeds (frontend/report/run_comparison.h).
#include <fmt/format.h>

#include <map>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/report/run_comparison.h"

namespace pg::cli {
namespace {

// "--name value..." lists: every value up to the next option belongs to it ("--name=value" works too).
std::map<std::string, std::vector<std::string>> parse_lists(const std::vector<std::string>& args,
                                                            const std::vector<std::string>& keys) {
    std::map<std::string, std::vector<std::string>> out;
    std::string current;
    for (const std::string& a : args) {
        if (a.rfind("--", 0) != 0) {
            PG_CHECK(!current.empty(), "pgolf compare: '{}' before any option (give --baseline RUN... --candidate "
                     "RUN...)", a);
            out[current].push_back(a);
            continue;
        }
        std::string key = a.substr(2), value;
        if (auto eq = key.find('='); eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        }
        PG_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(),
                 "pgolf compare: unknown option {} (options: --baseline, --candidate, --ignore, --margin)", a);
        current = key;
        out[key];
        if (!value.empty()) out[key].push_back(value);
    }
    return out;
}

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
    std::vector<std::string> out;
    for (const std::string& item : items)
        for (size_t start = 0; start <= item.size();) {
            size_t end = std::min(item.find(',', start), item.size());
            if (end > start) out.push_back(item.substr(start, end - start));
            start = end + 1;
        }
    return out;
}

report::RunGroup load_group(const std::string& label, const std::vector<std::string>& dirs,
                            const std::vector<std::string>& ignore) {
    std::vector<std::filesystem::path> paths(dirs.begin(), dirs.end());
    std::vector<report::RunMetrics> runs;
    for (const auto& d : report::expand_run_dirs(paths)) runs.push_back(report::load_run(d));
    return report::make_group(label, std::move(runs), ignore);
}

double parse_margin(const std::vector<std::string>& values) {
    if (values.empty()) return report::kRecordMarginNats;
    PG_CHECK(values.size() == 1, "pgolf compare: --margin takes one number of nats");
    size_t used = 0;
    double m = -1;
    try {
        m = std::stod(values[0], &used);
    } catch (const std::exception&) {
    }
    PG_CHECK(used == values[0].size() && m >= 0, "pgolf compare: --margin '{}' is not a non-negative number of nats",
             values[0]);
    return m;
}

int run_compare(std::vector<std::string> args) {
    auto opts = parse_lists(args, {"baseline", "candidate", "ignore", "margin"});
    PG_CHECK(!opts["baseline"].empty() && !opts["candidate"].empty(),
             "pgolf compare needs both groups: --baseline RUN_DIR... --candidate RUN_DIR...");
    std::vector<std::string> ignore = split_commas(opts["ignore"]);
    report::Comparison c = report::compare_groups(load_group("baseline", opts["baseline"], ignore),
                                                  load_group("candidate", opts["candidate"], ignore),
                                                  parse_margin(opts["margin"]));
    fmt::print("{}", report::comparison_text(c));
    return 0;
}

PG_COMMAND({.name = "compare",
            .summary = "the challenge's record test between two groups of seeds (mean, sd, t-test, p-value)",
            .usage = "pgolf compare --baseline RUN_DIR... --candidate RUN_DIR... [--ignore NAME,...] [--margin NATS]\n\n"
                     "Each group is the seeds of one configuration (a SEEDS run's RUN_DIR stands for all its seeds;\n"
                     "runs whose settings differ in more than seed and name are refused unless --ignore names the\n"
                     "settings). Scores are the round-trip val_loss / val_bpb of each run's artifact. Prints each\n"
                     "group's mean and standard deviation, the improvement in nats, and the one-sided p-value of the\n"
                     "t-test that the improvement exceeds the margin (default 0.005 nats; p < 0.01 is a record):\n"
                     "Welch's test, or the one-sample test when the baseline is a single run.",
            .run = run_compare});

}  // namespace
}  // namespace pg::cli
