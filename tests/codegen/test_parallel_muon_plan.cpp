// Parallel Muon's plans (frontend/optim/muon_bank.h): on 2 ranks the last micro-step
// reduce-scatters every bank's stacked gradient (straight into the rank's grad shard, no update
// copy) and all-reduces the other gradients; the shard graph all-gathers every bank's updates
// after Newton-Schulz on the rank's share only (its slots' matmuls, padding included, against
// the whole of Muon's); both ranks issue the same collectives in
// the same order (else the engines would pair the wrong buffers); the optimizer graph has no
// Newton-Schulz left. The graph-level rules: the text form keeps both collectives, a value whose
// dim 0 is not W times the state's is refused, and a plan with them needs a communicator.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "frontend/optim/muon_bank.h"
#include "frontend/train/step_graphs.h"
#include "graph/build.h"
#include "graph/text.h"
#include "runtime/executable.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

// "kind state" per collective buffer, in issue order: what every rank must issue identically.
std::vector<std::string> issue_sequence(const ExecPlan& p) {
    std::vector<std::string> out;
    for (const PlanStep& st : p.steps) {
        if (st.kind != PlanStep::Kind::Collective) continue;
        for (NodeId v : st.buffers)
            for (const StateUpdate& u : p.graph.updates())
                if (u.value == v) out.push_back(fmt::format("{} {}", static_cast<int>(st.collective), p.graph[u.state].name));
    }
    return out;
}

int count_updates(const Graph& g, UpdateCollective c) {
    return static_cast<int>(std::count_if(g.updates().begin(), g.updates().end(),
                                          [&](const StateUpdate& u) { return u.collective == c; }));
}

// Matmuls left in a plan (Newton-Schulz's three per iteration; GEMM steps or loop kernels by size).
int matmuls(const ExecPlan& p) {
    int n = 0;
    for (NodeId i = 0; i < p.graph.size(); ++i) n += p.graph[i].op == Op::Matmul;
    return n;
}

std::vector<ParamSpec> matrices(const std::vector<ParamSpec>& specs) {
    std::vector<ParamSpec> out;
    std::copy_if(specs.begin(), specs.end(), std::back_inserter(out), [](const ParamSpec& p) { return p.group == "matrix"; });
    return out;
}

}  // namespace

TEST_CASE("parallel Muon: banks reduce-scattered, Newton-Schulz on each rank's share, updates all-gathered") {
    Hyperparams h = testing::tiny_training();
    h.world_size = 2;
    h.muon_sharding = "off";
    const int whole_muon_matmuls = matmuls(compile_plan(*build_training_graphs(h).optimizer.graph, cpu_target()));
    REQUIRE(whole_muon_matmuls > 0);
    h.muon_sharding = "records";
    std::vector<std::vector<std::string>> sync_sequences, shard_sequences;
    for (int rank : {0, 1}) {
        h.rank = rank;
        TrainingGraphs t = build_training_graphs(h);
        REQUIRE(t.muon_shard.graph);
        const std::vector<ParamSpec> mats = matrices(t.model_specs);
        const std::vector<MuonBank> banks = muon_banks(mats, 2);
        int64_t slots = 0, members = 0;
        for (const MuonBank& b : banks) {
            slots += b.per_rank();
            members += static_cast<int64_t>(b.params.size());
            CHECK(b.padded % 2 == 0);
        }
        CHECK(members == static_cast<int64_t>(mats.size()));

        ExecPlan sync = compile_plan(*t.micro_sync.graph, cpu_target());
        CHECK(count_updates(sync.graph, UpdateCollective::ReduceScatterAvg) == static_cast<int>(banks.size()));
        CHECK(count_updates(sync.graph, UpdateCollective::AllReduceAvg) == static_cast<int>(t.model_specs.size() - mats.size()));
        std::set<NodeId> scattered;
        for (const StateUpdate& u : sync.graph.updates())
            if (u.collective == UpdateCollective::ReduceScatterAvg) {
                scattered.insert(u.state);
                CHECK(sync.graph[u.value].shape[0] == 2 * sync.graph[u.state].shape[0]);
            }
        for (const PlanStep& st : sync.steps) {
            if (st.kind == PlanStep::Kind::Copy) CHECK(!scattered.count(st.buffers[0]));  // the collective stores it
            if (st.kind == PlanStep::Kind::Collective && st.collective == UpdateCollective::ReduceScatterAvg)
                CHECK(st.results.size() == st.buffers.size());
        }

        ExecPlan shard = compile_plan(*t.muon_shard.graph, cpu_target());
        CHECK(count_updates(shard.graph, UpdateCollective::AllGather) == static_cast<int>(banks.size()));
        CHECK(shard.count(PlanStep::Kind::Copy) == static_cast<int>(banks.size()));  // the momentum shards only
        // Newton-Schulz runs on this rank's slots only: `slots` of the whole Muon's mats.size() matrices.
        CHECK(matmuls(shard) * static_cast<int64_t>(mats.size()) == whole_muon_matmuls * slots);
        CHECK(matmuls(compile_plan(*t.optimizer.graph, cpu_target())) == 0);
        int momentum_shards = 0;
        for (const ParamSpec& p : t.state_specs) momentum_shards += is_rank_shard(p.name);
        CHECK(momentum_shards == static_cast<int>(banks.size()));
        sync_sequences.push_back(issue_sequence(sync));
        shard_sequences.push_back(issue_sequence(shard));
    }
    CHECK(sync_sequences[0] == sync_sequences[1]);
    CHECK(shard_sequences[0] == shard_sequences[1]);
}

TEST_CASE("parallel Muon: the banks follow the records' layout and padding") {
    std::vector<ParamSpec> specs;
    for (int layer = 0; layer < 11; ++layer)
        for (const char* role : {"q", "o", "up"})
            specs.push_back({fmt::format("blocks.{}.{}", layer, role), role == std::string("up") ? Shape{64, 16} : Shape{16, 16}});
    std::vector<MuonBank> banks = muon_banks(specs, 8);
    REQUIRE(banks.size() == 2);
    CHECK(banks[0].key == "64x16");                   // the largest bank first
    CHECK(banks[0].padded == 16);                     // 11 -> 16 on 8 ranks: 2 per rank
    CHECK(banks[1].padded == 24);                     // 22 -> 24: 3 per rank
    CHECK(banks[1].params[10] == "blocks.10.q");      // every Q, then every O
    CHECK(banks[1].params[11] == "blocks.0.o");
    CHECK(bank_momentum_name(banks[1], 3) == "muon_bank.16x16.rank3.momentum_buffer");
    CHECK(is_rank_shard(bank_momentum_name(banks[1], 3)));
    CHECK(!is_rank_shard(bank_update_name(banks[1])));
}

TEST_CASE("parallel Muon: reduce-scatter and all-gather updates in the text form, their shape rule, their communicator") {
    Graph g;
    NodeId shard = build::param(g, "shard", {1, 3});
    NodeId whole = build::param(g, "whole", {2, 3});
    NodeId x = build::input(g, "x", {2, 3}, DType::f32);
    g.add_update(shard, build::add(g, x, x), UpdateCollective::ReduceScatterAvg);
    g.add_update(whole, build::mul(g, shard, shard), UpdateCollective::AllGather);
    Graph back = parse(print(g));
    REQUIRE(back.updates().size() == 2);
    CHECK(back.updates()[0].collective == UpdateCollective::ReduceScatterAvg);
    CHECK(back.updates()[1].collective == UpdateCollective::AllGather);
    CHECK(print(back) == print(g));

    Graph bad;
    NodeId s = build::param(bad, "s", {2, 3});
    CHECK_THROWS_AS(bad.add_update(s, build::input(bad, "y", {3, 3}, DType::f32), UpdateCollective::ReduceScatterAvg),
                    Error);  // 3 rows cannot be 2-row blocks
    CHECK_THROWS_AS(bad.add_update(s, build::input(bad, "z", {3, 3}, DType::f32), UpdateCollective::AllGather),
                    Error);  // nor can 3-row blocks make 2 rows

    std::unique_ptr<Session> session = open_session("cpu");
    std::unique_ptr<Executable> e = compile_executable(*session, g);
    CHECK(e->collectives() == 2);
    e->set("x", HostTensor::from_doubles(DType::f32, {2, 3}, {1, 2, 3, 4, 5, 6}));
    CHECK_THROWS_WITH_AS(e->run(), doctest::Contains("needs the ranks' communicator"), Error);
}

}  // namespace pg
