// Deterministic adds on CUDA (PG_DETERMINISTIC=1): the default mapping runs every iteration of a
// scatter-add or an outer-axis sum as its own thread, so several threads add into one element with
// atomics, in an order that changes from run to run (f32 addition is not associative). Here each
// element gets one owner thread that adds into it in loop order: the loops of a nest whose
// variable selects the element become the threads, the others run inside the thread, marked
// serial so that the mapping (cuda_mapping.h) never spreads them across threads.
//
// Example: the embedding gradient, out[tokens[i]][j] += g[i][j] over (i < N, j < D), becomes
// D threads, each walking i = 0..N-1 in order.
#pragma once
#include "codegen/kir.h"

namespace pg::cuda {

// Reorders every top-level loop nest of `k` that adds into a buffer (StoreAdd) so that its owner
// loops come first and the others follow marked serial (a nest without an owner loop gets a
// one-iteration loop around it: a single thread). A loop is an owner when its variable is a plain
// term (v or c*v) of the add's element index and appears nowhere else in it (not under a load, a
// division or a Let): the indices are row-major linearisations of output coordinates
// (codegen/lower.cpp), so distinct owner values select distinct elements. A nest with more than one
// add gets no owner loop. Returns whether `k` changed.
bool give_adds_owner_threads(kir::Kernel& k);

}  // namespace pg::cuda
