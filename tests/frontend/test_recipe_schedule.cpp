// The records' schedules (frontend/train/schedule.h) against values computed by hand from
// pgolf-spec §4.3 / §4.5: the fraction-form warmdown (lr = max((1 − frac)/warmdown_frac, MIN_LR)),
// its cosine shape, late QAT's onset by LR multiplier or by fraction (latched, with the LR
// multiplier at onset), the SWA snapshot cadence and the loop onset (ENABLE_LOOPING_AT).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "frontend/train/schedule.h"

namespace pg {

TEST_CASE("recipe schedule: fraction warmdown, floor and cosine shape") {
    Hyperparams h;
    h.max_wallclock_seconds = 100;
    h.recipe.warmdown_frac = 0.4;
    CHECK(lr_multiplier(h, 10, 50'000) == 1.0);                        // frac 0.5 < 0.6
    CHECK(lr_multiplier(h, 10, 80'000) == doctest::Approx(0.5));       // (1 - 0.8) / 0.4
    CHECK(lr_multiplier(h, 10, 100'000) == 0.0);
    h.recipe.min_lr = 0.1;
    CHECK(lr_multiplier(h, 10, 96'000) == doctest::Approx(0.1));       // 0.1 > (1 - 0.96) / 0.4
    h.recipe.cosine = true;                                              // 0.1 + 0.9 * (1 - cos(pi v)) / 2
    CHECK(lr_multiplier(h, 10, 80'000) == doctest::Approx(0.1 + 0.9 * 0.5));
    CHECK(lr_multiplier(h, 10, 70'000) == doctest::Approx(0.1 + 0.9 * 0.5 * (1 - std::cos(std::numbers::pi * 0.75))));
    h.max_wallclock_seconds = 0;  // without a cap the fraction is of ITERATIONS
    h.iterations = 100;
    h.recipe.cosine = false;
    CHECK(lr_multiplier(h, 80, 1e9) == doctest::Approx(0.5));
}

TEST_CASE("recipe schedule: late QAT switches on once, by LR multiplier or fraction, and scales the LR from then") {
    Hyperparams h;
    h.max_wallclock_seconds = 0;
    h.iterations = 100;
    h.warmdown_iters = 50;  // lr = (100 - step) / 50 from step 50
    h.recipe.late_qat_threshold = 0.15;
    h.recipe.qat_lr_scale = 0.5;
    RecipeSchedule s(h);
    CHECK_FALSE(s.at(92, 0).qat);                          // lr 0.16
    StepSchedule on = s.at(93, 0);                          // lr 0.14 < 0.15
    CHECK(on.qat);
    CHECK(on.lr_scale == doctest::Approx(0.14 * 0.5));
    Hyperparams f = h;
    f.recipe.late_qat_threshold = 0;
    f.recipe.qat_start_frac = 0.85;
    f.recipe.qat_lr_scale = 1;
    RecipeSchedule by_frac(f);
    CHECK_FALSE(by_frac.at(84, 0).qat);
    CHECK(by_frac.at(85, 0).qat);
    CHECK(by_frac.at(10, 0).qat);  // latched
}

TEST_CASE("recipe schedule: SWA snapshots every SWA_EVERY steps while the LR multiplier is below the threshold") {
    Hyperparams h;
    h.max_wallclock_seconds = 0;
    h.iterations = 100;
    h.warmdown_iters = 100;  // lr = (100 - step) / 100
    h.recipe.swa = true;
    h.recipe.swa_every = 5;
    h.recipe.swa_threshold = 0.2;
    RecipeSchedule s(h);
    int taken = 0;
    for (int64_t step = 0; step < 100; ++step) taken += s.at(step, 0).swa_take ? 1 : 0;
    CHECK(taken == 3);  // steps 85, 90, 95 have lr 0.15, 0.10, 0.05; step 80 has lr 0.2 (not below)
}

TEST_CASE("recipe schedule: depth recurrence switches on once the fraction of training reaches ENABLE_LOOPING_AT") {
    Hyperparams h;
    h.max_wallclock_seconds = 100;  // the fraction is of the wallclock cap
    h.recipe.enable_looping_at = 0.35;
    RecipeSchedule s(h);
    CHECK_FALSE(s.at(10, 34'999).looping);
    CHECK(s.at(11, 35'000).looping);  // frac 0.35 >= 0.35
    CHECK(s.at(12, 0).looping);       // latched
    h.recipe.enable_looping_at = 0;   // the default: looped from the first step
    CHECK(RecipeSchedule(h).at(0, 0).looping);
}

}  // namespace pg
