// Reading runs back from metrics.jsonl (see run_metrics.h).
#include "frontend/report/run_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "frontend/train/hyperparams.h"
#include "frontend/train/metrics_log.h"

namespace pg::report {
namespace {

using nlohmann::json;

// JSON null (a non-finite value when written) reads back as NaN: a gap in the curve.
double number(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : NAN;
}

int64_t integer(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// A resumed run re-logs from its checkpoint's step: drop what the interrupted run logged from there.
template <class Point>
void append_point(std::vector<Point>& points, Point p) {
    while (!points.empty() && points.back().step >= p.step) points.pop_back();
    points.push_back(p);
}

void read_record(RunMetrics& run, const json& j) {
    const std::string kind = j.value("kind", "");
    if (kind == "run") {
        run.run_id = j.value("run_id", "");
        run.backend = j.value("backend", "");
        run.started = j.value("started", "");
        run.model_params = integer(j, "model_params");
        run.settings = j.value("settings", std::map<std::string, std::string>{});
    } else if (kind == "train") {
        append_point(run.train, TrainPoint{integer(j, "step"), number(j, "train_loss"), number(j, "train_time_ms"),
                                           number(j, "lr_scale")});
    } else if (kind == "val") {
        append_point(run.val, ValPoint{integer(j, "step"), number(j, "val_loss"), number(j, "val_bpb"),
                                       number(j, "train_time_ms")});
    } else if (kind == "final") {
        run.final = FinalScores{integer(j, "steps"), number(j, "train_time_ms"), number(j, "val_loss"),
                                number(j, "val_bpb"), number(j, "roundtrip_val_loss"), number(j, "roundtrip_val_bpb"),
                                integer(j, "artifact_bytes"), integer(j, "code_bytes"), integer(j, "total_bytes"),
                                j.value("artifact", "")};
    }
    // Unknown kinds are skipped: files written by a newer pgolf stay readable.
}

}  // namespace

std::string RunMetrics::name() const {
    std::filesystem::path d = dir.filename().empty() ? dir.parent_path() : dir;  // "runs/a/" names "a"
    std::string leaf = d.filename().string();
    if (leaf.rfind("seed", 0) == 0 && !d.parent_path().filename().empty())
        return d.parent_path().filename().string() + "/" + leaf;
    return leaf;
}

std::string RunMetrics::setting(const std::string& key) const {
    auto it = settings.find(key);
    return it == settings.end() ? "" : it->second;
}

const FinalScores& RunMetrics::final_scores() const {
    PG_CHECK(final.has_value(), "run {} has no final scores in {}: it did not finish (train it to the end, or "
             "leave it out)", dir.string(), (dir / kMetricsFileName).string());
    return *final;
}

RunMetrics load_run(const std::filesystem::path& dir) {
    const std::filesystem::path file = dir / kMetricsFileName;
    PG_CHECK(std::filesystem::is_regular_file(file), "{} is not a run folder: it has no {} (pgolf train writes one "
             "into RUN_DIR; runs made before metrics existed cannot be read)", dir.string(), kMetricsFileName);
    std::ifstream in(file);
    PG_CHECK(in.good(), "cannot read {}", file.string());
    RunMetrics run;
    run.dir = dir;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        json j = json::parse(line, nullptr, false);
        PG_CHECK(j.is_object(), "{}:{}: not a JSON object (the file is damaged; a run killed mid-line loses only "
                 "its last line: delete that line)", file.string(), number);
        read_record(run, j);
    }
    return run;
}

std::vector<std::filesystem::path> expand_run_dirs(const std::vector<std::filesystem::path>& paths) {
    std::vector<std::filesystem::path> runs;
    for (const auto& p : paths) {
        PG_CHECK(std::filesystem::is_directory(p), "{} is not a folder (give run folders, i.e. RUN_DIRs)", p.string());
        if (std::filesystem::exists(p / kMetricsFileName)) {
            runs.push_back(p);
            continue;
        }
        std::vector<std::filesystem::path> seeds;
        for (const auto& e : std::filesystem::directory_iterator(p))
            if (e.is_directory() && std::filesystem::exists(e.path() / kMetricsFileName)) seeds.push_back(e.path());
        PG_CHECK(!seeds.empty(), "{} holds no {} and no run folders that do: not a run folder", p.string(),
                 kMetricsFileName);
        std::sort(seeds.begin(), seeds.end());
        runs.insert(runs.end(), seeds.begin(), seeds.end());
    }
    return runs;
}

std::vector<std::string> config_differences(const RunMetrics& a, const RunMetrics& b) {
    const auto& ignore = run_identity_knob_names();
    std::map<std::string, std::string> keys;
    for (const auto& [k, v] : a.settings) keys[k];
    for (const auto& [k, v] : b.settings) keys[k];
    std::vector<std::string> diffs;
    for (const auto& [k, unused] : keys) {
        if (std::find(ignore.begin(), ignore.end(), k) != ignore.end()) continue;
        if (a.setting(k) != b.setting(k))
            diffs.push_back(fmt::format("{}: '{}' vs '{}'", k, a.setting(k), b.setting(k)));
    }
    return diffs;
}

}  // namespace pg::report
