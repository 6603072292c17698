// The training schedules: the LR multiplier (the baseline's warmdown by iterations with the
// wallclock estimator of pgolf-spec §3.5, or the records' warmdown over a final fraction of the
// wallclock / iterations, §4.3; linear or cosine, down to a floor), the Muon momentum warm-up,
// and the per-step switches of the records' recipes: late QAT's onset (by LR multiplier or by
// fraction of training; latched, with an LR multiplier from then on), SWA snapshots and the onset
// of depth recurrence (ENABLE_LOOPING_AT: the records' `frac >= enable_looping_at` before a step).
#pragma once
#include <cstdint>

#include "frontend/train/hyperparams.h"

namespace pg {

// LR multiplier at `step` after `elapsed_ms` of training (before any QAT onset multiplier).
double lr_multiplier(const Hyperparams& h, int64_t step, double elapsed_ms);
// Muon momentum warm-up at `step`: (1−f)·start + f·end, f = min(step / warmup_steps, 1).
double muon_momentum(const Hyperparams& h, int64_t step);

struct StepSchedule {
    double lr_scale = 1;   // every group's LR multiplier this step
    bool qat = false;      // fake-quantised weights in this step's forward pass
    bool swa_take = false; // add this step's weights to the SWA sum
    bool looping = true;   // depth recurrence in this step's forward pass (from ENABLE_LOOPING_AT on)
};

// The per-step schedule of a run; remembers the QAT onset and the loop onset (both latched, as
// the records' flags: once on, they stay on).
class RecipeSchedule {
public:
    explicit RecipeSchedule(const Hyperparams& h) : h_(h) {}
    StepSchedule at(int64_t step, double elapsed_ms);

private:
    const Hyperparams& h_;
    bool qat_on_ = false;
    bool looping_on_ = false;
};

}  // namespace pg
