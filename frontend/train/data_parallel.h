// What a training or evaluation run does differently with several ranks (pgolf-spec §3.6): the
// world size comes from the launcher; every rank checks at start that it runs the settings of
// rank 0 and takes rank 0's run id and initial state; evaluation sums are combined in fp64; the
// wallclock decision is the slowest rank's. The collectives are the world's (runtime/comm).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "frontend/eval/bpb.h"
#include "frontend/module.h"
#include "frontend/train/hyperparams.h"
#include "runtime/comm/communicator.h"
#include "runtime/session.h"

namespace pg {

// The world size of this run: the launcher's (torchrun, mpirun, srun) when distributed, in which
// case the WORLD_SIZE setting must be unset, 1 or equal to it; else WORLD_SIZE (one process that
// computes rank 0's share, as before).
int launch_world_size();

// This process's rank in a distributed launch, else 0.
int launch_rank();

// How the optimizer shares Muon among the ranks of a distributed launch (PG_MUON_SHARDING; "off"
// without one). "records" (the default): parallel Muon as the records (frontend/optim/muon_bank.h,
// pgolf-spec §4.3): each bank's gradient reduce-scattered, momentum and Newton-Schulz on each rank's
// 1/W of the bank, the updates all-gathered. "baseline": the baseline's distribution (§3.4):
// matrix i belongs to rank i mod W, which runs its momentum and Newton-Schulz and broadcasts the
// new weight and momentum. "off": every rank runs all of Muon on all-reduced gradients.
std::string muon_sharding_mode();

// ", parallel Muon (...)" for the run log's data-parallel line ("" when Muon is not shared).
std::string muon_sharding_summary(const Hyperparams& h);

// A SHA-256 of every training setting (run_settings()) and the launch's world size.
std::string settings_digest();

// Compares settings_digest() with rank 0's; on a difference every rank throws a pg::Error that
// names the ranks whose settings differ.
void check_same_settings(comm::Communicator& c);

// Rank 0's run id and run directory (the default RUN_ID is a timestamp, which may differ by a
// second between ranks).
void agree_run_identity(comm::Communicator& c, Hyperparams& h);

// At the start of a distributed run (no-op otherwise): check_same_settings, then
// agree_run_identity.
void join_world(Hyperparams& h);

// A SHA-256 of the tensors' bytes (in name order; parallel Muon's momentum shards, which differ
// by design, left out), compared across the ranks: returns it when all
// ranks hold identical values, else throws a pg::Error naming the ranks that differ (the
// replicas drifted apart: a bug, never expected).
std::string check_same_weights(comm::Communicator& c, const std::map<std::string, HostTensor>& state);

// Every rank's value of the session tensors `specs` replaced by rank 0's (as DDP broadcasts its
// initial parameters), so that the ranks start from identical state; parallel Muon's momentum
// shards stay each rank's own.
void broadcast_state(comm::Communicator& c, const Session& session, const std::vector<ParamSpec>& specs);

// The sum over ranks of each rank's validation sums (loss, tokens, bytes), in fp64.
eval::BpbAccumulator all_reduce_sums(comm::Communicator& c, const eval::BpbAccumulator& local);

}  // namespace pg
