// The process's communicator and a rank's orderly end (see world.h).
#include "runtime/comm/world.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "base/env.h"
#include "base/error.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/cuda/nccl_communicator.h"
#include "runtime/executable.h"

namespace pg::comm {

PG_KNOB({.name = "PG_COMM", .kind = env::KnobKind::String, .default_value = "auto",
         .doc = "collective engine: auto (a world of one, else NCCL on GPUs and MPI on CPUs), or nccl / mpi to use "
                "that engine even for one rank (to test it on one GPU)",
         .choices = {"auto", "nccl", "mpi"}});

namespace {

std::unique_ptr<Communicator>& slot() {
    static std::unique_ptr<Communicator> c;
    return c;
}

std::unique_ptr<Communicator> make_world(const LaunchEnv& env) {
    const std::string engine = env::get("PG_COMM");
    if (engine == "nccl") return make_nccl_communicator(env);
    if (engine == "mpi") return make_mpi_communicator();
    if (!env.distributed()) return std::make_unique<LocalCommunicator>();
    if (selected_backend() == "cuda") return make_nccl_communicator(env);
    PG_CHECK(env.by_mpi(),
             "rank {} of {} was started by {} on the CPU backend, whose collectives are MPI's: start the ranks with "
             "`mpirun -np {} pgolf ...` (or `pgolf launch --nproc {} -- ...`, which does), or use GPUs (NCCL)",
             env.rank, env.world_size, env.launcher, env.world_size, env.world_size);
    std::unique_ptr<Communicator> c = make_mpi_communicator();
    PG_CHECK(c->size() == env.world_size && c->rank() == env.rank,
             "MPI sees rank {} of {} but the launcher's variables say rank {} of {}: was pgolf started by another "
             "MPI's launcher?", c->rank(), c->size(), env.rank, env.world_size);
    return c;
}

}  // namespace

Communicator& world() {
    std::unique_ptr<Communicator>& c = slot();
    if (!c) c = make_world(launch_env());
    return *c;
}

int run_as_rank(const std::function<int()>& body) {
    const LaunchEnv& env = launch_env();
    if (!env.distributed()) return body();
    try {
        int rc = body();
        if (slot()) slot()->wait();
        slot().reset();
        mpi_finalize();
        return rc;
    } catch (const std::exception& e) {
        fmt::print(stderr, "pgolf rank {}/{}: error: {}\n", env.rank, env.world_size, e.what());
        std::fflush(stderr);
        if (slot()) slot()->abort();
        mpi_abort_world(1);
        throw;
    }
}

}  // namespace pg::comm
