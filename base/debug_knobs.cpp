// Observability knobs shared by every phase: PG_DEBUG (per-phase timings and plan summaries).
#include "base/env.h"

namespace pg {

PG_KNOB({.name = "PG_DEBUG", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "1 prints per-phase timings: graph, schedule, compile, cache hits, first step"});

}  // namespace pg
