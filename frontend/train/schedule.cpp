// Training schedules (see schedule.h).
#include "frontend/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/determinism.h"

namespace pg {
namespace {

// Under PG_DETERMINISTIC=1 schedules follow ITERATIONS alone, never the wallclock, so that two
// runs take the same learning rates whatever the machine's speed.
bool by_wallclock(const Hyperparams& h) { return h.max_wallclock_seconds > 0 && !deterministic_mode(); }

// Fraction of training done: of the wallclock cap when there is one, else of ITERATIONS.
double progress(const Hyperparams& h, int64_t step, double elapsed_ms) {
    if (by_wallclock(h)) return elapsed_ms / (1000.0 * h.max_wallclock_seconds);
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(h.iterations, 1));
}

// What remains of the warmdown, 1 (not started) down to 0 (the end).
double warmdown_remaining(const Hyperparams& h, int64_t step, double elapsed_ms) {
    if (h.recipe.warmdown_frac > 0) {
        const double left = 1.0 - progress(h, step, elapsed_ms);
        return std::clamp(left / h.recipe.warmdown_frac, 0.0, 1.0);
    }
    if (h.warmdown_iters <= 0) return 1.0;
    if (!by_wallclock(h)) {
        int64_t start = std::max<int64_t>(h.iterations - h.warmdown_iters, 0);
        if (step >= start && step < h.iterations)
            return std::max(static_cast<double>(h.iterations - step) / static_cast<double>(h.warmdown_iters), 0.0);
        return 1.0;
    }
    double step_ms = elapsed_ms / static_cast<double>(std::max<int64_t>(step, 1));
    double warmdown_ms = static_cast<double>(h.warmdown_iters) * step_ms;
    double remaining_ms = std::max(1000.0 * h.max_wallclock_seconds - elapsed_ms, 0.0);
    return remaining_ms <= warmdown_ms ? remaining_ms / std::max(warmdown_ms, 1e-9) : 1.0;
}

}  // namespace

double lr_multiplier(const Hyperparams& h, int64_t step, double elapsed_ms) {
    const double v = warmdown_remaining(h, step, elapsed_ms);
    const double floor = h.recipe.min_lr;
    if (h.recipe.cosine) return floor + (1.0 - floor) * 0.5 * (1.0 - std::cos(std::numbers::pi * v));
    return std::max(v, floor);
}

double muon_momentum(const Hyperparams& h, int64_t step) {
    double frac = h.muon_momentum_warmup_steps > 0
                      ? std::min(static_cast<double>(step) / static_cast<double>(h.muon_momentum_warmup_steps), 1.0)
                      : 1.0;
    return (1 - frac) * h.muon_momentum_warmup_start + frac * h.muon_momentum;
}

StepSchedule RecipeSchedule::at(int64_t step, double elapsed_ms) {
    const RecipeSettings& r = h_.recipe;
    StepSchedule s;
    const double base = lr_multiplier(h_, step, elapsed_ms);
    if (!qat_on_)
        qat_on_ = (r.late_qat_threshold > 0 && base < r.late_qat_threshold) ||
                  (r.qat_start_frac > 0 && progress(h_, step, elapsed_ms) >= r.qat_start_frac);
    s.qat = qat_on_;
    looping_on_ = looping_on_ || progress(h_, step, elapsed_ms) >= r.enable_looping_at;
    s.looping = looping_on_;
    s.lr_scale = base * (qat_on_ ? r.qat_lr_scale : 1.0);
    s.swa_take = r.swa && base < r.swa_threshold && step % r.swa_every == 0;
    return s;
}

}  // namespace pg
