// The TCP rendezvous of a torchrun-style launch: rank 0 listens at MASTER_ADDR:(MASTER_PORT + 1)
// and hands a small payload (NCCL's unique id) to every other rank, which connects there. This is
// bootstrap only, before any collective exists; the collectives themselves are NCCL's or MPI's.
// MASTER_PORT itself is left to torchrun's own store, which its agent keeps open on that port.
//
// Both sides give up after PG_DIST_TIMEOUT seconds with a pg::Error that names the address, the
// ranks that did (or did not) arrive and what to check: a missing peer is an error, never a hang.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/comm/launch_env.h"

namespace pg::comm {

// The rendezvous port for a launch: MASTER_PORT + 1.
int rendezvous_port(const LaunchEnv& env);

// Seconds a rank waits for its peers (PG_DIST_TIMEOUT).
double peer_timeout_seconds();

// Rank 0 passes `payload` and returns it once every other rank has received it; the others pass
// nothing and return rank 0's payload. Needs MASTER_ADDR and MASTER_PORT.
std::vector<uint8_t> rendezvous_broadcast(const LaunchEnv& env, const std::vector<uint8_t>& payload);

}  // namespace pg::comm
