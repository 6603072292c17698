// The communicators: the launchers' variables, the world of one, the TCP rendezvous (two ranks as
// threads; a missing peer is an error after PG_DIST_TIMEOUT, not a hang), and the MPI engine's
// collectives across the 2 ranks of a real mpirun, each checked against its closed form (sums of
// small integers are exact in f32, so the checks are exact).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <thread>

#include "base/env.h"
#include "base/error.h"
#include "runtime/comm/launch_env.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/tcp_rendezvous.h"
#include "runtime/comm/world.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/cuda/nccl_communicator.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/skip.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {

// Sets environment variables for the scope, restoring the previous values.
class ScopedEnv {
public:
    explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) {
        for (auto& [name, value] : vars) {
            const char* old = std::getenv(name.c_str());
            saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
            ::setenv(name.c_str(), value.c_str(), 1);
        }
    }
    ~ScopedEnv() {
        for (auto& [name, old] : saved_) {
            if (old) ::setenv(name.c_str(), old->c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

template <typename T>
uint64_t addr(std::vector<T>& v) {
    return reinterpret_cast<uint64_t>(v.data());
}

}  // namespace

TEST_CASE("comm: the launchers' variables give rank, world and local rank") {
    {
        ScopedEnv e({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                     {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}});
        comm::LaunchEnv l = comm::read_launch_env();
        CHECK(l.launcher == "torchrun");
        CHECK(l.rank == 3);
        CHECK(l.world_size == 8);
        CHECK(l.local_rank == 1);
        CHECK(l.local_world_size == 2);
        CHECK(l.master_addr == "10.0.0.1");
        CHECK(comm::rendezvous_port(l) == 29501);
        CHECK_FALSE(l.by_mpi());
    }
    {
        ScopedEnv e({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                     {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
        comm::LaunchEnv l = comm::read_launch_env();
        CHECK(l.launcher == "mpirun");
        CHECK(l.rank == 1);
        CHECK(l.world_size == 2);
        CHECK(l.by_mpi());
    }
    {
        ScopedEnv e({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "1"},
                     {"SLURM_NTASKS_PER_NODE", "8(x2)"}});
        comm::LaunchEnv l = comm::read_launch_env();
        CHECK(l.launcher == "srun");
        CHECK(l.rank == 5);
        CHECK(l.local_rank == 1);
        CHECK(l.local_world_size == 16);  // the "8(x2)" form does not parse: the world is the bound
    }
    {
        ScopedEnv e({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
        CHECK_THROWS_WITH_AS(comm::read_launch_env(), doctest::Contains("outside the world"), Error);
    }
    {
        ScopedEnv e({{"RANK", "one"}, {"WORLD_SIZE", "2"}});
        CHECK_THROWS_WITH_AS(comm::read_launch_env(), doctest::Contains("RANK='one'"), Error);
    }
}

TEST_CASE("comm: a world of one is the identity") {
    comm::LocalCommunicator c;
    std::vector<float> a = {1, 2, 3}, out(3, 0);
    c.all_reduce(comm::CommBuffer{addr(a), addr(out), 3, DType::f32}, comm::ReduceOp::Avg);
    c.wait();
    CHECK(out == a);
    std::vector<double> v = {1.5, -2};
    c.all_reduce_host(v, comm::ReduceOp::Sum);
    CHECK(v == std::vector<double>{1.5, -2});
    CHECK(c.size() == 1);
    CHECK(c.is_main());
}

TEST_CASE("comm: the TCP rendezvous hands rank 0's payload to every rank, and a missing peer is an error") {
    env::ScopedOverride timeout("PG_DIST_TIMEOUT", "20");
    const int port = 31000 + static_cast<int>(::getpid() % 4000) * 2;
    auto env_of = [&](int rank, int world) {
        comm::LaunchEnv e;
        e.rank = rank;
        e.world_size = world;
        e.master_addr = "127.0.0.1";
        e.master_port = port;
        e.launcher = "torchrun";
        return e;
    };
    const std::vector<uint8_t> payload = {7, 0, 255, 42};
    std::vector<std::vector<uint8_t>> got(3);
    std::vector<std::thread> ranks;
    for (int r = 2; r >= 0; --r)  // the peers start first and retry until rank 0 listens
        ranks.emplace_back([&, r] { got[r] = comm::rendezvous_broadcast(env_of(r, 3), r == 0 ? payload : std::vector<uint8_t>{}); });
    for (auto& t : ranks) t.join();
    for (const auto& g : got) CHECK(g == payload);

    env::ScopedOverride fast("PG_DIST_TIMEOUT", "0.5");
    CHECK_THROWS_WITH_AS(comm::rendezvous_broadcast(env_of(0, 2), payload), doctest::Contains("rank(s) 1 of 2 never arrived"),
                         Error);
    CHECK_THROWS_WITH_AS(comm::rendezvous_broadcast(env_of(1, 2), {}), doctest::Contains("could not reach rank 0"), Error);
    comm::LaunchEnv no_master = env_of(1, 2);
    no_master.master_addr = "";
    CHECK_THROWS_WITH_AS(comm::rendezvous_broadcast(no_master, {}), doctest::Contains("MASTER_ADDR"), Error);
}

TEST_CASE("comm: NCCL without a usable GPU is a clear error, not a crash") {
    if (cuda_unavailable_reason().empty()) PG_SKIP("a GPU is present: NCCL's one-rank path runs in the GPU suite");
    comm::LaunchEnv e;
    e.world_size = 2;
    e.master_addr = "127.0.0.1";
    e.master_port = 29400;
    e.launcher = "torchrun";
    CHECK_THROWS_AS(make_nccl_communicator(e), Error);
}

// Run by the next case under mpirun (skipped in a plain run): every collective of the MPI engine
// on rank-dependent values, against the closed form.
TEST_CASE("comm: MPI engine child" * doctest::skip()) {
    comm::Communicator& c = comm::world();
    REQUIRE(c.engine() == "mpi");
    const int r = c.rank(), n = c.size();
    REQUIRE(n >= 2);
    auto sum_ranks = [&](auto f) {
        double s = 0;
        for (int k = 0; k < n; ++k) s += f(k);
        return s;
    };
    std::vector<float> a(5), b(3), out(3);
    for (int i = 0; i < 5; ++i) a[i] = static_cast<float>(r + i);
    for (int i = 0; i < 3; ++i) b[i] = static_cast<float>(10 * r - i);
    std::vector<comm::CommBuffer> bucket = {{addr(a), 0, 5, DType::f32}, {addr(b), addr(out), 3, DType::f32}};
    c.all_reduce(bucket, comm::ReduceOp::Sum);
    c.wait();
    for (int i = 0; i < 5; ++i) CHECK(a[i] == sum_ranks([&](int k) { return k + i; }));
    for (int i = 0; i < 3; ++i) CHECK(out[i] == sum_ranks([&](int k) { return 10 * k - i; }));
    for (int i = 0; i < 3; ++i) CHECK(b[i] == static_cast<float>(10 * r - i));  // out of place: input untouched

    std::vector<float> avg = {static_cast<float>(2 * r), 1.0f}, mx = {static_cast<float>(r), static_cast<float>(-r)};
    c.all_reduce(comm::CommBuffer{addr(avg), 0, 2, DType::f32}, comm::ReduceOp::Avg);
    c.all_reduce(comm::CommBuffer{addr(mx), 0, 2, DType::f32}, comm::ReduceOp::Max);
    c.wait();
    CHECK(avg[0] == doctest::Approx(sum_ranks([](int k) { return 2 * k; }) / n));
    CHECK(avg[1] == 1.0f);
    CHECK(mx[0] == static_cast<float>(n - 1));
    CHECK(mx[1] == 0.0f);

    const int count = 4;
    std::vector<float> send(static_cast<size_t>(n * count)), recv(count);
    for (int k = 0; k < n; ++k)
        for (int j = 0; j < count; ++j) send[static_cast<size_t>(k * count + j)] = static_cast<float>(r * 100 + k * 10 + j);
    c.reduce_scatter(addr(send), addr(recv), count, DType::f32, comm::ReduceOp::Sum);
    std::vector<int32_t> mine(count), gathered(static_cast<size_t>(n * count));
    for (int j = 0; j < count; ++j) mine[j] = r * 10 + j;
    c.all_gather(addr(mine), addr(gathered), count, DType::i32);
    std::vector<float> bc(3, -1.0f);
    if (r == 1) bc = {7, 8, 9};
    c.broadcast(addr(bc), 3, DType::f32, 1);
    c.wait();
    for (int j = 0; j < count; ++j) CHECK(recv[j] == sum_ranks([&](int k) { return k * 100 + r * 10 + j; }));
    for (int k = 0; k < n; ++k)
        for (int j = 0; j < count; ++j) CHECK(gathered[static_cast<size_t>(k * count + j)] == k * 10 + j);
    CHECK(bc == std::vector<float>{7, 8, 9});

    std::vector<double> host = {0.1 * r, 1e300};
    c.all_reduce_host(host, comm::ReduceOp::Max);
    CHECK(host[0] == 0.1 * (n - 1));
    std::vector<uint8_t> bytes = {static_cast<uint8_t>(r), 9};
    c.broadcast_host(bytes, 0);
    CHECK(bytes == std::vector<uint8_t>{0, 9});
    comm::mpi_finalize();
}

TEST_CASE("comm: the MPI engine's collectives across 2 ranks of mpirun") {
    if (std::string why = testing::mpi_unavailable_reason(); !why.empty()) PG_SKIP(why);
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    testing::CommandResult r =
        testing::run_command(testing::mpirun_prefix(2) + self + " --no-colors=true --no-skip=true -tc='comm: MPI engine child'");
    INFO(r.output);
    CHECK(r.status == 0);
    size_t successes = 0;
    for (size_t at = r.output.find("Status: SUCCESS"); at != std::string::npos; at = r.output.find("Status: SUCCESS", at + 1))
        ++successes;
    CHECK(successes == 2);  // both ranks ran the child case and passed
}

}  // namespace pg
