// The trainer's schedules against values computed by hand from train_gpt.py's definitions
// (pgolf-spec §3): the warmdown learning-rate multiplier, by iterations and by wallclock, and
// Muon's momentum warm-up.
#include <doctest/doctest.h>

#include "frontend/train/trainer.h"

namespace pg {

TEST_CASE("schedules: iteration warmdown scales the LR linearly to 0 over the last WARMDOWN_ITERS steps") {
    Hyperparams h;
    h.iterations = 12;
    h.warmdown_iters = 4;
    h.max_wallclock_seconds = 0;
    // Warmdown starts at step 12 - 4 = 8: (12 - step) / 4.
    CHECK(lr_multiplier(h, 0, 0) == 1.0);
    CHECK(lr_multiplier(h, 7, 0) == 1.0);
    CHECK(lr_multiplier(h, 8, 0) == 1.0);
    CHECK(lr_multiplier(h, 9, 0) == 0.75);
    CHECK(lr_multiplier(h, 10, 0) == 0.5);
    CHECK(lr_multiplier(h, 11, 0) == 0.25);
    h.warmdown_iters = 20;  // longer than the run: from the first step, (12 - step) / 20
    CHECK(lr_multiplier(h, 0, 0) == doctest::Approx(0.6));
    CHECK(lr_multiplier(h, 6, 0) == doctest::Approx(0.3));
    h.warmdown_iters = 0;
    CHECK(lr_multiplier(h, 11, 0) == 1.0);
}

TEST_CASE("schedules: wallclock warmdown predicts the last WARMDOWN_ITERS steps from the mean step time") {
    Hyperparams h;
    h.iterations = 20000;
    h.warmdown_iters = 10;
    h.max_wallclock_seconds = 100;
    // step_ms = elapsed / step; warmdown_ms = 10 * step_ms; remaining = 100000 - elapsed;
    // multiplier = remaining / warmdown_ms once remaining <= warmdown_ms.
    CHECK(lr_multiplier(h, 0, 0) == 1.0);                           // no step time yet
    CHECK(lr_multiplier(h, 50, 50000) == 1.0);                      // 50 s left, warmdown 10 s
    CHECK(lr_multiplier(h, 95, 95000) == doctest::Approx(0.5));     // 5 s left of 10 s
    CHECK(lr_multiplier(h, 46, 92000) == doctest::Approx(0.4));     // 2 s steps: 8 s left of 20 s
    CHECK(lr_multiplier(h, 100, 100000) == 0.0);                    // the cap
    CHECK(lr_multiplier(h, 120, 120000) == 0.0);                    // past it: never negative
}

TEST_CASE("schedules: Muon momentum warms up linearly from 0.85 to 0.95 over 500 steps") {
    Hyperparams h;  // train_gpt.py's defaults
    CHECK(h.muon_momentum_warmup_start == 0.85);
    CHECK(h.muon_momentum == 0.95);
    CHECK(h.muon_momentum_warmup_steps == 500);
    CHECK(muon_momentum(h, 0) == doctest::Approx(0.85));
    CHECK(muon_momentum(h, 100) == doctest::Approx(0.87));
    CHECK(muon_momentum(h, 250) == doctest::Approx(0.90));
    CHECK(muon_momentum(h, 500) == doctest::Approx(0.95));
    CHECK(muon_momentum(h, 5000) == doctest::Approx(0.95));
    h.muon_momentum_warmup_steps = 0;
    CHECK(muon_momentum(h, 0) == 0.95);
}

}  // namespace pg
