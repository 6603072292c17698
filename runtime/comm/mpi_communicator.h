// The MPI engine: collectives of Open MPI (Debian's libopenmpi) on host memory, for the CPU
// backend and for bootstrapping NCCL under mpirun. Device collectives are non-blocking requests
// (MPI_Iallreduce, MPI_Ireduce_scatter_block, MPI_Iallgather, MPI_Ibcast) completed by wait(), so a
// bucket's reduction proceeds while the caller issues the next. MPI is optional at build time:
// a pgolf built without it throws a pg::Error here that says how to get it.
#pragma once
#include <memory>

#include "runtime/comm/communicator.h"

namespace pg::comm {

// Whether this pgolf was built with MPI.
bool mpi_available();

// MPI_COMM_WORLD of a process started by mpirun/srun (MPI_Init_thread on first use).
std::unique_ptr<Communicator> make_mpi_communicator();

// MPI_Finalize at the end of a successful run (collective: every rank calls it). Does nothing
// where MPI was never initialised.
void mpi_finalize();

// On an error: MPI_Abort of the whole world, so that no rank waits for this one. Does nothing
// where MPI was never initialised.
void mpi_abort_world(int code);

}  // namespace pg::comm
