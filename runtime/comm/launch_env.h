// LaunchEnv: where this process sits among the ranks of a run, read from the variables that the
// field's launchers set: torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT; also what `pgolf launch` sets), Open MPI's mpirun (OMPI_COMM_WORLD_*), SLURM's
// srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, ...) and MPICH/Hydra (PMI_RANK, PMI_SIZE).
// With none of them the process is a world of one.
#pragma once
#include <string>

namespace pg::comm {

struct LaunchEnv {
    int rank = 0, world_size = 1;
    int local_rank = 0, local_world_size = 1;
    std::string master_addr;  // the rendezvous (torchrun style); "" when not given
    int master_port = 0;
    std::string launcher = "single";  // "torchrun", "mpirun", "srun", "pmi" or "single"

    bool distributed() const { return world_size > 1; }
    // Started by an MPI-capable launcher (mpirun, srun, Hydra): MPI_Init finds its peers.
    bool by_mpi() const { return launcher == "mpirun" || launcher == "srun" || launcher == "pmi"; }
    // "rank 1/2 (local 1/2) by torchrun, rendezvous 10.0.0.1:29500"
    std::string to_string() const;
};

// Reads the environment (torchrun's variables win over the MPI/SLURM ones, so that a torchrun
// inside an allocation behaves as torchrun). Inconsistent values (rank outside the world, a
// non-numeric rank) are a pg::Error naming the variable.
LaunchEnv read_launch_env();

// The process's launch environment, read once.
const LaunchEnv& launch_env();

}  // namespace pg::comm
