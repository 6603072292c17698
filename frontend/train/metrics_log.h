// MetricsLog: the machine-readable twin of train.log, <run_dir>/metrics.jsonl: one JSON object per
// line, appended and flushed as the run goes (a killed run keeps what it logged; a resumed run
// appends). Records, each with "kind" and "wall_s" (seconds since this process opened the log):
//   run    settings (every training setting, by name), run_id, model_params, backend, started (UTC)
//   train  step, train_loss, train_time_ms, step_avg_ms, lr_scale, tokens (consumed so far)
//   val    step, val_loss, val_bpb, train_time_ms
//   final  steps, train_time_ms, val_loss, val_bpb, roundtrip_val_loss, roundtrip_val_bpb,
//          artifact_bytes, code_bytes, total_bytes, artifact (its file name in the run directory)
//   stop   a run that ended early: reason (signal | non_finite), steps, message, checkpoint
// `pgolf report`, `pgolf compare` and `pgolf submission` read it (frontend/report/run_metrics.h).
#pragma once
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace pg {

inline constexpr const char* kMetricsFileName = "metrics.jsonl";

class MetricsLog {
public:
    // Opens <run_dir>/metrics.jsonl for appending (the run directory exists: RunLog made it).
    // Disabled (ranks other than 0 of a distributed run): writes nothing.
    explicit MetricsLog(const std::string& run_dir, bool enabled = true);
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;

    // Appends `record` (an object) with "kind" and "wall_s" added, as one line.
    void write(const std::string& kind, nlohmann::json record);

private:
    std::FILE* file_ = nullptr;
    std::chrono::steady_clock::time_point opened_;
};

}  // namespace pg
