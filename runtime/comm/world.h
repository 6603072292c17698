// The world of this process: one communicator per process, made on first use from the launch
// environment (launch_env.h) and the backend open_session() picks:
//   PG_COMM=nccl or mpi              -> that engine, even for one rank
//   not distributed                  -> LocalCommunicator (a world of one)
//   GPU (CUDA backend)               -> NCCL, each rank on the GPU of its local rank
//   CPU, under mpirun / srun / Hydra -> MPI
//   CPU, torchrun-style variables    -> pg::Error: the CPU engine is MPI, whose launcher is mpirun
//                                       (`pgolf launch` uses it on the CPU)
// run_as_rank wraps a command so that a distributed run ends cleanly (the engines shut down in
// order) or, at an error on any rank, aborts the world instead of leaving the peers waiting.
#pragma once
#include <functional>

#include "runtime/comm/communicator.h"
#include "runtime/comm/launch_env.h"

namespace pg::comm {

Communicator& world();

// Runs `body`; in a distributed launch, afterwards completes outstanding collectives and shuts
// the engines down (NCCL communicator destroyed, MPI_Finalize), or, when it throws, prints the
// error with this rank and aborts the world, then rethrows.
int run_as_rank(const std::function<int()>& body);

}  // namespace pg::comm
