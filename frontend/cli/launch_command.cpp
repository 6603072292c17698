// `pgolf launch --nproc N -- COMMAND ...`: one node's data-parallel launcher. On GPUs it starts N
// copies of pgolf with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT), each rank on the GPU of its local rank, NCCL bootstrapped
// over the rendezvous; when one rank fails the others are stopped (SIGTERM, then SIGKILL after
// 10 s) and its exit status is returned. On the CPU backend, whose collectives are MPI's, it runs
// the same command under Open MPI's mpirun (-np N, oversubscribing the cores when N exceeds them).
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/executable.h"

namespace pg::cli {
namespace {

PG_KNOB({.name = "PG_MPIRUN", .kind = env::KnobKind::String, .default_value = "mpirun",
         .doc = "Open MPI's launcher, used by `pgolf launch` on the CPU backend"});

struct LaunchArgs {
    int nproc = 0;
    int master_port = 0;  // 0: a free one
    std::vector<std::string> command;
};

LaunchArgs parse_launch_args(const std::vector<std::string>& args) {
    LaunchArgs out;
    size_t i = 0;
    for (; i < args.size() && args[i] != "--"; ++i) {
        auto value = [&](const char* name) {
            PG_CHECK(i + 1 < args.size(), "pgolf launch: {} needs a value", name);
            return std::atoi(args[++i].c_str());
        };
        if (args[i] == "--nproc") out.nproc = value("--nproc");
        else if (args[i] == "--master-port") out.master_port = value("--master-port");
        else throw Error(fmt::format("pgolf launch: unexpected argument '{}' (usage: pgolf launch --nproc N "
                                     "[--master-port P] -- COMMAND ...)", args[i]));
    }
    PG_CHECK(out.nproc >= 1, "pgolf launch needs --nproc N with N >= 1 (one process per GPU)");
    PG_CHECK(i + 1 < args.size(), "pgolf launch needs the command after `--`, e.g. pgolf launch --nproc 2 -- train");
    out.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
    return out;
}

std::string self_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// Whether `port` can be bound on this host now.
bool port_free(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    return ok;
}

// A MASTER_PORT whose rendezvous port (MASTER_PORT + 1) is free too, from torchrun's usual range.
int free_master_port() {
    for (int port = 29500 + static_cast<int>(::getpid() % 2000); port < 65000; port += 2)
        if (port_free(port) && port_free(port + 1)) return port;
    throw Error("pgolf launch: found no free port pair for MASTER_PORT; give --master-port P");
}

std::vector<char*> c_args(std::vector<std::string>& args) {
    std::vector<char*> out;
    for (std::string& a : args) out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

// Open MPI's launcher over the same command (never returns on success).
int exec_mpirun(const LaunchArgs& l) {
    PG_CHECK(comm::mpi_available(), "pgolf launch on the CPU runs the ranks under MPI, and this pgolf was built "
             "without it: install Open MPI (Debian: libopenmpi-dev openmpi-bin) and rebuild, or use GPUs");
    std::vector<std::string> argv = {env::get("PG_MPIRUN"), "-np", std::to_string(l.nproc), "--oversubscribe",
                                     "--bind-to", "none"};
    if (::geteuid() == 0) {  // Open MPI refuses root unless told twice (containers and CI run as root)
        argv.push_back("--allow-run-as-root");
        ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    argv.push_back(self_path());
    argv.insert(argv.end(), l.command.begin(), l.command.end());
    std::vector<char*> cargs = c_args(argv);
    ::execvp(cargs[0], cargs.data());
    throw Error(fmt::format("pgolf launch: cannot run {} ({}): install Open MPI's openmpi-bin or set PG_MPIRUN",
                            argv[0], std::strerror(errno)));
}

pid_t spawn_rank(const LaunchArgs& l, int rank, int port) {
    pid_t pid = ::fork();
    PG_CHECK(pid >= 0, "pgolf launch: fork failed: {}", std::strerror(errno));
    if (pid > 0) return pid;
    for (auto [name, value] : {std::pair{"RANK", rank}, {"WORLD_SIZE", l.nproc}, {"LOCAL_RANK", rank},
                               {"LOCAL_WORLD_SIZE", l.nproc}, {"MASTER_PORT", port}})
        ::setenv(name, std::to_string(value).c_str(), 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    std::vector<std::string> argv = {self_path()};
    argv.insert(argv.end(), l.command.begin(), l.command.end());
    std::vector<char*> cargs = c_args(argv);
    ::execv(cargs[0], cargs.data());
    std::_Exit(127);
}

// Waits for every rank; at the first failure stops the others. Returns the first failure's
// status (0 when all succeed).
int supervise(std::vector<pid_t> pids) {
    int first_failure = 0;
    auto deadline = std::chrono::steady_clock::time_point::max();
    while (!pids.empty()) {
        int status = 0;
        pid_t done = ::waitpid(-1, &status, WNOHANG);
        if (done <= 0) {
            if (std::chrono::steady_clock::now() > deadline)
                for (pid_t p : pids) ::kill(p, SIGKILL);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        std::erase(pids, done);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0 && first_failure == 0) {
            first_failure = code;
            fmt::print(stderr, "pgolf launch: a rank exited with status {}; stopping the other {}\n", code, pids.size());
            for (pid_t p : pids) ::kill(p, SIGTERM);
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        }
    }
    return first_failure;
}

int run_launch(std::vector<std::string> args) {
    LaunchArgs l = parse_launch_args(args);
    const Command* c = find_command(l.command.front());
    apply_knob_flags(l.command, c ? c->options : std::vector<std::string>{});  // its --PG_BACKEND=... decides here too
    if (selected_backend() == "cpu") return exec_mpirun(l);
    const int port = l.master_port > 0 ? l.master_port : free_master_port();
    std::vector<pid_t> pids;
    for (int r = 0; r < l.nproc; ++r) pids.push_back(spawn_rank(l, r, port));
    return supervise(pids);
}

PG_COMMAND({.name = "launch",
            .summary = "run a command as N data-parallel ranks on this node (torchrun-style; mpirun on the CPU)",
            .usage = "pgolf launch --nproc N [--master-port P] -- COMMAND [ARGS ...]\n\n"
                     "Starts N ranks of `pgolf COMMAND ARGS` on this machine, e.g. `pgolf launch --nproc 8 -- train`.\n"
                     "GPUs: N processes with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1\n"
                     "and MASTER_PORT (a free one, or P) set as torchrun sets them; rank r uses GPU r; NCCL carries\n"
                     "the collectives. If a rank fails, the others are stopped and its status is returned.\n"
                     "CPU backend: `mpirun -np N --oversubscribe pgolf COMMAND ARGS` (Open MPI; PG_MPIRUN names it),\n"
                     "with --allow-run-as-root when run as root. Several nodes: see docs/distributed.md.",
            .run = run_launch});

}  // namespace
}  // namespace pg::cli
