// The NCCL engine of comm::Communicator (libnccl.so.2 through the dlopen table of cuda_api.h):
// collectives on the CudaDevice's memory, issued on a communication stream of their own that
// waits (by event) for the work already queued on the compute stream; wait() makes the compute
// stream wait for the communication stream, so the host never blocks on a collective and
// backward kernels queued before wait() overlap the transfers. A bucket is one ncclGroup (one
// fused launch). Avg is ncclAvg.
//
// Bootstrap: rank 0 draws the unique id (ncclGetUniqueId) and hands it over the TCP rendezvous
// at MASTER_ADDR:MASTER_PORT+1 (torchrun, `pgolf launch`) or, under mpirun/srun with MPI built
// in, by an MPI broadcast.
#pragma once
#include <memory>

#include "runtime/comm/communicator.h"
#include "runtime/comm/launch_env.h"

namespace pg {

// Each rank takes the GPU of its local rank (CudaDevice::get()); throws pg::Error when NCCL or
// the device is missing or a peer does not arrive in time.
std::unique_ptr<comm::Communicator> make_nccl_communicator(const comm::LaunchEnv& env);

}  // namespace pg
