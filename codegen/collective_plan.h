// The collective steps of a plan: the state updates of a graph with a collective (graph.h: the
// gradient all-reduce of a data-parallel step, AllReduceAvg; sharded Muon's broadcasts of new
// weights and momentum from their owner, Broadcast) packed into buckets and placed for overlap.
// All-reduces go in the order they become ready; broadcasts in the order of their params' names,
// because each rank's optimizer graph differs and all ranks must issue one sequence. Parallel
// Muon's reduce-scatters and all-gathers (ReduceScatterAvg, AllGather) bucket like the
// all-reduces, one kind per bucket; they write the state, so they also wait for its last reader.
//
// Each value is ready after the last kernel step that writes or reads its buffer (it is reduced
// in place, so no later kernel may read it). Values are taken in the order they become ready
// (backward finishes the last layer's gradients first) and packed into buckets of at most
// PG_BUCKET_MB (DDP's bucket_cap_mb default: 25 MiB, large enough that NCCL's per-call latency
// (~10-20 us) is amortised, small enough that the first bucket starts early in the backward pass);
// a bucket is issued after its last value is ready (and after the bucket before it) and completed
// before the update copies.
#pragma once
#include "codegen/exec_plan.h"

namespace pg {

// Appends the Collective steps to `p`, whose steps so far are its kernel steps.
void add_collective_steps(ExecPlan& p);

}  // namespace pg
