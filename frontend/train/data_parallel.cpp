// Data-parallel helpers of the trainer and evaluation (see data_parallel.h).
#include "frontend/train/data_parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/digest.h"
#include "base/env.h"
#include "base/error.h"
#include "frontend/optim/muon_bank.h"
#include "runtime/comm/launch_env.h"
#include "runtime/comm/world.h"

namespace pg {

PG_KNOB({.name = "PG_MUON_SHARDING", .kind = env::KnobKind::String, .default_value = "records",
         .doc = "how several ranks share Muon: records (parallel Muon: bank gradients reduce-scattered, Newton-Schulz "
                "on each rank's share, updates all-gathered), baseline (matrix i on rank i mod W, results broadcast) "
                "or off (every rank runs all of Muon on all-reduced gradients)",
         .choices = {"records", "baseline", "off"}});

int launch_rank() { return comm::launch_env().distributed() ? comm::launch_env().rank : 0; }

std::string muon_sharding_mode() { return comm::launch_env().distributed() ? env::get("PG_MUON_SHARDING") : "off"; }

std::string muon_sharding_summary(const Hyperparams& h) {
    if (h.world_size < 2 || h.muon_sharding == "off") return "";
    return h.muon_sharding == "records"
               ? ", parallel Muon (bank gradients reduce-scattered, Newton-Schulz on 1/W of each bank, updates "
                 "all-gathered)"
               : ", Muon's matrices dealt round-robin (each rank's new weights and momentum broadcast)";
}

int launch_world_size() {
    const comm::LaunchEnv& e = comm::launch_env();
    const auto knob = static_cast<int>(env::get_int("WORLD_SIZE"));
    if (!e.distributed()) return knob;
    PG_CHECK(knob == 1 || knob == e.world_size,
             "WORLD_SIZE={} but {} started {} ranks: leave WORLD_SIZE unset (the launcher sets the world)", knob,
             e.launcher, e.world_size);
    return e.world_size;
}

std::string settings_digest() {
    std::string text = fmt::format("world={}\n", launch_world_size());
    for (const auto& [name, value] : run_settings()) text += name + "=" + value + "\n";
    return sha256_hex(text);
}

namespace {

// Broadcasts rank 0's string (its length first).
std::string broadcast_string(comm::Communicator& c, const std::string& mine) {
    std::vector<double> size = {static_cast<double>(mine.size())};
    if (!c.is_main()) size[0] = 0;
    c.all_reduce_host(size, comm::ReduceOp::Max);  // rank 0's length: the others sent 0
    std::vector<uint8_t> bytes(static_cast<size_t>(size[0]));
    if (c.is_main()) std::memcpy(bytes.data(), mine.data(), mine.size());
    c.broadcast_host(bytes, 0);
    return std::string(bytes.begin(), bytes.end());
}

// The ranks whose `mine` differs from rank 0's, as "1,3" ("" when all agree); rank 0's value
// in `root`.
std::string differing_ranks(comm::Communicator& c, const std::string& mine, std::string& root) {
    root = broadcast_string(c, mine);
    std::vector<double> differs(static_cast<size_t>(c.size()), 0.0);
    differs[static_cast<size_t>(c.rank())] = mine == root ? 0.0 : 1.0;
    c.all_reduce_host(differs, comm::ReduceOp::Max);
    std::string ranks;
    for (size_t r = 0; r < differs.size(); ++r)
        if (differs[r] > 0) ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
    return ranks;
}

}  // namespace

void check_same_settings(comm::Communicator& c) {
    const std::string mine = settings_digest();
    std::string root;
    const std::string ranks = differing_ranks(c, mine, root);
    PG_CHECK(ranks.empty(),
             "the settings of rank(s) {} differ from rank 0's (settings digest {} on rank 0, {} here): every rank must "
             "see the same environment and flags (`pgolf env` lists them)", ranks, root.substr(0, 12), mine.substr(0, 12));
}

void join_world(Hyperparams& h) {
    comm::Communicator& c = comm::world();
    if (c.size() == 1) return;
    check_same_settings(c);
    agree_run_identity(c, h);
}

std::string check_same_weights(comm::Communicator& c, const std::map<std::string, HostTensor>& state) {
    std::string bytes;
    for (const auto& [name, value] : state)
        if (!is_rank_shard(name)) bytes += name + std::string(value.bytes.begin(), value.bytes.end());
    const std::string mine = sha256_hex(bytes);
    std::string root;
    const std::string ranks = differing_ranks(c, mine, root);
    PG_CHECK(ranks.empty(), "the weights of rank(s) {} differ from rank 0's after training (digest {} on rank 0, {} "
             "here): the replicas drifted apart; please report this with the run's settings", ranks, root.substr(0, 12),
             mine.substr(0, 12));
    return mine;
}

void agree_run_identity(comm::Communicator& c, Hyperparams& h) {
    h.run_id = broadcast_string(c, h.run_id);
    h.run_dir = broadcast_string(c, h.run_dir);
}

void broadcast_state(comm::Communicator& c, const Session& session, const std::vector<ParamSpec>& specs) {
    std::vector<ParamSpec> by_name = specs;  // every rank issues the broadcasts in one order
    std::sort(by_name.begin(), by_name.end(), [](const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; });
    for (const ParamSpec& p : by_name) {
        if (is_rank_shard(p.name)) continue;  // each rank's own share of parallel Muon's momentum
        const SessionTensor* t = session.find(p.name);
        PG_ASSERT(t != nullptr, "state tensor {} is not in the session", p.name);
        c.broadcast(t->address, numel(t->shape), t->dtype, 0);
    }
    c.wait();
}

eval::BpbAccumulator all_reduce_sums(comm::Communicator& c, const eval::BpbAccumulator& local) {
    std::array<double, 3> sums = local.sums();
    c.all_reduce_host(sums, comm::ReduceOp::Sum);
    return eval::BpbAccumulator::from_sums(sums);
}

}  // namespace pg
