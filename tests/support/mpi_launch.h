// Running test commands as several ranks: the mpirun prefix (Open MPI refuses root unless told
// twice; CI runs as root, and two ranks on a 2-core machine need --oversubscribe) and whether a
// multi-process test can run here at all.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "runtime/comm/mpi_communicator.h"

namespace pg::testing {

// "" when mpirun can start ranks here, else why not.
inline std::string mpi_unavailable_reason() {
    if (!comm::mpi_available()) return "this pgolf was built without MPI";
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0) return "mpirun is not installed (openmpi-bin)";
    return "";
}

// `mpirun -np N` with the settings that let it run as root on a small machine; the command follows.
inline std::string mpirun_prefix(int np) {
    std::string s = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none "
                    "mpirun -np " + std::to_string(np) + " --oversubscribe --bind-to none";
    if (::geteuid() == 0) s += " --allow-run-as-root";
    return s + " ";
}

}  // namespace pg::testing
