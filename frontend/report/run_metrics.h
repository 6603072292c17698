// RunMetrics: a finished (or interrupted) training run as read back from its metrics.jsonl (see
// frontend/train/metrics_log.h): settings, the train-loss and validation curves, the final scores.
// A resumed run appends to the same file: records at or after a resumed step replace the earlier
// ones, so the curves are those of the run that produced the final weights.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pg::report {

struct TrainPoint {
    int64_t step = 0;
    double train_loss = 0, train_time_ms = 0, lr_scale = 1;
};

struct ValPoint {
    int64_t step = 0;
    double val_loss = 0, val_bpb = 0, train_time_ms = 0;
};

struct FinalScores {
    int64_t steps = 0;
    double train_time_ms = 0, val_loss = 0, val_bpb = 0;
    double roundtrip_val_loss = 0, roundtrip_val_bpb = 0;  // the artifact as read back: the submitted score
    int64_t artifact_bytes = 0, code_bytes = 0, total_bytes = 0;
    std::string artifact;  // file name in the run folder
};

struct RunMetrics {
    std::filesystem::path dir;
    std::string run_id, backend, started;
    int64_t model_params = 0;
    std::map<std::string, std::string> settings;
    std::vector<TrainPoint> train;
    std::vector<ValPoint> val;
    std::optional<FinalScores> final;

    // The label in plots and tables: the folder's name, with its group's for a SEEDS run
    // ("layers4/seed1337"); RUN_ID defaults to a timestamp, which tells a reader little.
    std::string name() const;
    std::string setting(const std::string& key) const;  // "" when absent
    const FinalScores& final_scores() const;  // pg::Error naming the run when it has none (not finished)
};

// Reads <dir>/metrics.jsonl. pg::Error when the folder has none (naming it and how runs get one)
// or a line is not a JSON object (naming file and line).
RunMetrics load_run(const std::filesystem::path& dir);

// The run folders that `paths` name: a folder holding metrics.jsonl is one run; a folder whose
// subfolders hold them (the RUN_DIR of a SEEDS run) stands for all of those, in name order.
std::vector<std::filesystem::path> expand_run_dirs(const std::vector<std::filesystem::path>& paths);

// "NAME: a vs b" for every setting that differs between the runs, ignoring those that only name or
// place a run (SEED, RUN_ID, RUN_DIR, ...): empty when they are seeds of one configuration.
std::vector<std::string> config_differences(const RunMetrics& a, const RunMetrics& b);

}  // namespace pg::report
