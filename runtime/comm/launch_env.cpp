// Reading the launchers' variables (see launch_env.h).
#include "runtime/comm/launch_env.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

#include "base/error.h"

namespace pg::comm {
namespace {

const char* get(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

int parse_int(const char* name, const char* text) {
    int v = 0;
    const char* end = text + std::char_traits<char>::length(text);
    auto [ptr, ec] = std::from_chars(text, end, v);
    PG_CHECK(ec == std::errc() && ptr == end && v >= 0, "{}='{}' is not a non-negative integer", name, text);
    return v;
}

int int_or(const char* name, int fallback) {
    const char* v = get(name);
    return v ? parse_int(name, v) : fallback;
}

// One launcher's names for (rank, world size, local rank, local world size).
struct Names {
    const char* launcher;
    const char *rank, *size, *local_rank, *local_size;
};

// torchrun first; SLURM's SLURM_NTASKS_PER_NODE may read "4(x2)", so its local size comes from
// SLURM_LOCALID's range only when the simple form parses.
constexpr Names kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
};

}  // namespace

std::string LaunchEnv::to_string() const {
    std::string s = fmt::format("rank {}/{} (local {}/{}) by {}", rank, world_size, local_rank, local_world_size, launcher);
    if (!master_addr.empty()) s += fmt::format(", rendezvous {}:{}", master_addr, master_port);
    return s;
}

LaunchEnv read_launch_env() {
    LaunchEnv e;
    for (const Names& n : kLaunchers) {
        if (!get(n.rank) || !get(n.size)) continue;
        e.launcher = n.launcher;
        e.rank = parse_int(n.rank, get(n.rank));
        e.world_size = parse_int(n.size, get(n.size));
        e.local_rank = int_or(n.local_rank, e.rank);
        const char* ls = get(n.local_size);
        int local_size = 0;
        const char* ls_end = ls ? ls + std::char_traits<char>::length(ls) : nullptr;
        auto [ptr, ec] = ls ? std::from_chars(ls, ls_end, local_size) : std::from_chars_result{nullptr, std::errc::invalid_argument};
        const bool simple = ec == std::errc() && ptr == ls_end;
        e.local_world_size = simple && local_size > 0 ? local_size : e.world_size;
        PG_CHECK(e.world_size >= 1 && e.rank < e.world_size, "{}={} is outside the world of {}={}", n.rank, e.rank,
                 n.size, e.world_size);
        PG_CHECK(e.local_rank < e.local_world_size || !simple, "{}={} is outside {}={}", n.local_rank, e.local_rank,
                 n.local_size, e.local_world_size);
        break;
    }
    if (const char* a = get("MASTER_ADDR")) e.master_addr = a;
    e.master_port = int_or("MASTER_PORT", 0);
    return e;
}

const LaunchEnv& launch_env() {
    static const LaunchEnv e = read_launch_env();
    return e;
}

}  // namespace pg::comm
