// The PG_DETERMINISTIC setting (see determinism.h).
#include "base/determinism.h"

#include "base/env.h"

namespace pg {

PG_KNOB({.name = "PG_DETERMINISTIC", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "1: bit-identical losses and weights run to run on the same backend (fixed BLAS split, "
                "CUDA adds without atomics, step-based warmdown); the default is guaranteed reproducible only "
                "at equal PG_THREADS and without a wallclock cap"});

bool deterministic_mode() { return env::get_bool("PG_DETERMINISTIC"); }

}  // namespace pg
