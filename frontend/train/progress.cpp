// ProgressLine and the progress formats (see progress.h).
#include "frontend/train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "base/env.h"

namespace pg {

PG_KNOB({.name = "PG_PROGRESS", .kind = env::KnobKind::String, .default_value = "auto",
         .doc = "progress line on stderr: auto (when stderr is a terminal), on, off", .choices = {"auto", "on", "off"}});

std::string format_duration(double seconds) {
    int64_t s = static_cast<int64_t>(std::max(seconds, 0.0) + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    return fmt::format("{}m{:02}s", s / 60, s % 60);
}

namespace {

std::string format_rate(double tokens_per_s) {
    if (tokens_per_s >= 1e6) return fmt::format("{:.2f}M", tokens_per_s / 1e6);
    if (tokens_per_s >= 1e3) return fmt::format("{:.1f}k", tokens_per_s / 1e3);
    return fmt::format("{:.0f}", tokens_per_s);
}

// Seconds to the end of training and which limit ends it.
std::pair<double, const char*> training_eta(const TrainingProgress& p) {
    double step_ms = p.step > 0 ? p.train_ms / static_cast<double>(p.step) : 0;
    double to_last = step_ms * static_cast<double>(std::max<int64_t>(p.iterations - p.step, 0)) / 1000;
    if (p.cap_ms <= 0) return {to_last, "the last step"};
    double to_cap = std::max(p.cap_ms - p.train_ms, 0.0) / 1000;
    return to_cap < to_last ? std::pair{to_cap, "the wallclock cap"} : std::pair{to_last, "the last step"};
}

}  // namespace

std::string format_training_progress(const TrainingProgress& p) {
    double pct = p.iterations > 0 ? 100.0 * static_cast<double>(p.step) / static_cast<double>(p.iterations) : 0;
    double tok_s = p.train_ms > 0 ? static_cast<double>(p.step * p.tokens_per_step) / (p.train_ms / 1000) : 0;
    std::string line = fmt::format("step {}/{} {:.1f}% | {} tok/s | lr {:.2f} | loss {:.4f} | {}", p.step,
                                   p.iterations, pct, format_rate(tok_s), p.lr_scale, p.train_loss,
                                   format_duration(p.train_ms / 1000));
    if (p.step == 0) return line;
    auto [eta, limit] = training_eta(p);
    return line + fmt::format(", eta {} to {}", format_duration(eta), limit);
}

std::string format_eval_progress(const std::string& what, int64_t done, int64_t total, double elapsed_ms) {
    double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1;
    std::string line = fmt::format("{} {:.0f}% ({}/{} batches) | {}", what, 100 * frac, done, total,
                                   format_duration(elapsed_ms / 1000));
    if (done == 0) return line;
    return line + fmt::format(", eta {}", format_duration(elapsed_ms / 1000 * (1 - frac) / frac));
}

ProgressLine::ProgressLine(std::FILE* out) : out_(out) {
    std::string mode = env::get("PG_PROGRESS");
    enabled_ = mode == "on" || (mode == "auto" && ::isatty(::fileno(out)) == 1);
}

void ProgressLine::show(const std::string& text) {
    if (!enabled_) return;
    text_ = text;
    auto now = std::chrono::steady_clock::now();
    if (visible_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    restore();
}

void ProgressLine::clear() {
    if (!enabled_ || !visible_) return;
    std::fputs("\r\033[K", out_);  // carriage return, erase to the end of the line
    std::fflush(out_);
    visible_ = false;
}

void ProgressLine::restore() {
    if (!enabled_ || text_.empty()) return;
    fmt::print(out_, "\r\033[K{}", text_);
    std::fflush(out_);
    visible_ = true;
}

}  // namespace pg
