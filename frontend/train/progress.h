// ProgressLine: one self-rewriting status line on a terminal while training and evaluating, e.g.
//   step 1200/20000 6.0% | 48.1k tok/s | lr 1.00 | loss 3.4120 | 1m05s, eta 4m02s to the wallclock cap
//   eval 35% (120/340 batches) | 0m12s, eta 0m22s
// It is drawn on stderr only when stderr is a terminal (PG_PROGRESS=auto), so logs and pipes get
// the baseline's log lines only; RunLog erases it before printing a line and redraws it after.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace pg {

struct TrainingProgress {
    int64_t step = 0, iterations = 0;
    double train_ms = 0;             // training time so far (the wallclock cap's clock)
    double cap_ms = 0;               // MAX_WALLCLOCK_SECONDS in ms; 0 = no cap
    int64_t tokens_per_step = 0;     // global batch
    double lr_scale = 1, train_loss = 0;
};

// The training line; the ETA is whichever comes first, the last iteration or the wallclock cap.
std::string format_training_progress(const TrainingProgress& p);
// The evaluation line.
std::string format_eval_progress(const std::string& what, int64_t done, int64_t total, double elapsed_ms);
// "1m05s", "2h03m".
std::string format_duration(double seconds);

class ProgressLine {
public:
    // Enabled when PG_PROGRESS is on, or auto and `out` is a terminal.
    explicit ProgressLine(std::FILE* out = stderr);
    bool enabled() const { return enabled_; }

    // Redraws with `text` at most every 200 ms (a 40 ms step would otherwise flood a slow terminal).
    void show(const std::string& text);
    void clear();    // erases the line (before another line is printed)
    void restore();  // redraws the last text after clear()

private:
    std::FILE* out_;
    bool enabled_ = false, visible_ = false;
    std::string text_;
    std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace pg
