// Collective steps of a plan: the AllReduceAvg updates of the data-parallel micro-step become
// buckets of at most PG_BUCKET_MB, each issued after the last kernel that writes or reads any of
// its values (never earlier: it is reduced in place) and, with small buckets, well before the
// backward pass ends (the overlap); every all-reduced value is in exactly one bucket; the text
// form keeps the flag; in a world of one the collectives are the identity.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/env.h"
#include "codegen/compile_plan.h"
#include "frontend/train/step_graphs.h"
#include "graph/build.h"
#include "graph/text.h"
#include "runtime/executable.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

// The last kernel step that names `node` among its buffers.
int last_kernel_use(const ExecPlan& p, NodeId node) {
    int last = -1;
    for (size_t i = 0; i < p.steps.size(); ++i) {
        const PlanStep& st = p.steps[i];
        if (st.kind != PlanStep::Kind::Kernel && st.kind != PlanStep::Kind::Gemm) continue;
        if (std::find(st.buffers.begin(), st.buffers.end(), node) != st.buffers.end()) last = static_cast<int>(i);
    }
    return last;
}

}  // namespace

TEST_CASE("collectives: the gradient all-reduce is bucketed and each bucket issued once its gradients are final") {
    Hyperparams h = testing::tiny_training();
    h.world_size = 2;
    TrainingGraphs t = build_training_graphs(h);
    REQUIRE(t.micro_sync.graph);
    CHECK(compile_plan(*t.micro.graph, cpu_target()).count(PlanStep::Kind::Collective) == 0);

    env::ScopedOverride small("PG_BUCKET_MB", "0.01");  // 10 KiB: the tiny model's gradients need several
    ExecPlan p = compile_plan(*t.micro_sync.graph, cpu_target());
    const int buckets = p.count(PlanStep::Kind::Collective);
    CHECK(buckets > 2);
    int last_kernel = -1;
    for (size_t i = 0; i < p.steps.size(); ++i)
        if (p.steps[i].kind == PlanStep::Kind::Kernel || p.steps[i].kind == PlanStep::Kind::Gemm) last_kernel = static_cast<int>(i);
    std::set<NodeId> reduced;
    int previous_issue = -1;
    for (const PlanStep& st : p.steps) {
        if (st.kind != PlanStep::Kind::Collective) continue;
        INFO(st.name);
        CHECK(st.issue_after >= previous_issue);  // buckets go out in the order they fill
        previous_issue = st.issue_after;
        int64_t bytes = 0;
        int ready = -1;
        for (NodeId v : st.buffers) {
            CHECK(reduced.insert(v).second);
            bytes += numel(p.graph[v].shape) * static_cast<int64_t>(dtype_size(p.graph[v].dtype));
            ready = std::max(ready, last_kernel_use(p, v));
        }
        CHECK(st.issue_after == ready);  // not before its last value is final, not later either
        CHECK((bytes <= static_cast<int64_t>(0.01 * 1048576) || st.buffers.size() == 1));
        CHECK(st.copy_bytes == bytes);
    }
    CHECK(reduced.size() == t.model_specs.size());  // one gradient per weight, each once
    // The first bucket leaves while backward still has kernels to run: communication overlaps them.
    const auto first = std::find_if(p.steps.begin(), p.steps.end(),
                                    [](const PlanStep& s) { return s.kind == PlanStep::Kind::Collective; });
    CHECK(first->issue_after < last_kernel - 10);
}

namespace {

// The collective steps of a plan as "op root param, ..." per bucket, in issue order: what every
// rank must issue identically.
std::vector<std::string> collective_sequence(const ExecPlan& p) {
    std::vector<std::string> out;
    for (const PlanStep& st : p.steps) {
        if (st.kind != PlanStep::Kind::Collective) continue;
        std::string line;
        for (size_t i = 0; i < st.buffers.size(); ++i)
            for (const StateUpdate& u : p.graph.updates())
                if (u.value == st.buffers[i])
                    line += fmt::format("{}:{} ", p.graph[u.state].name, st.roots.empty() ? -1 : st.roots[i]);
        out.push_back(line);
    }
    return out;
}

}  // namespace

TEST_CASE("collectives: sharded Muon computes each matrix on one rank and every rank issues the same broadcasts") {
    Hyperparams h = testing::tiny_training();
    h.world_size = 2;
    h.muon_sharding = "baseline";
    std::vector<std::vector<std::string>> sequences;
    std::vector<int> newton_schulz_gemms;
    for (int rank : {0, 1}) {
        h.rank = rank;
        TrainingGraphs t = build_training_graphs(h);
        ExecPlan p = compile_plan(*t.optimizer.graph, cpu_target());
        sequences.push_back(collective_sequence(p));
        newton_schulz_gemms.push_back(p.count(KernelKind::Gemm));
        int matrices = 0;
        for (const ParamSpec& s : t.model_specs) matrices += s.group == "matrix";
        int broadcast = 0;
        for (const StateUpdate& u : p.graph.updates()) broadcast += u.collective == UpdateCollective::Broadcast;
        CHECK(broadcast == 2 * matrices);  // weight and momentum of every matrix, owned or not
    }
    REQUIRE(!sequences[0].empty());
    CHECK(sequences[0] == sequences[1]);
    h.muon_sharding = "off";
    const int all = compile_plan(*build_training_graphs(h).optimizer.graph, cpu_target()).count(KernelKind::Gemm);
    // Each rank runs about half of Newton-Schulz's GEMMs (the tiny model has an even number of matrices).
    CHECK(newton_schulz_gemms[0] + newton_schulz_gemms[1] == all);
}

TEST_CASE("collectives: the text form keeps an all-reduced update; a world of one stores the value itself") {
    Graph g;
    NodeId w = build::param(g, "w", {4});
    g.add_update(w, build::add(g, w, build::input(g, "x", {4}, DType::f32)), UpdateCollective::AllReduceAvg);
    const std::string text = print(g);
    CHECK(text.find("all_reduce_avg") != std::string::npos);
    Graph back = parse(text);
    REQUIRE(back.updates().size() == 1);
    CHECK(back.updates()[0].collective == UpdateCollective::AllReduceAvg);
    CHECK(print(back) == text);
    Graph b;
    NodeId v = build::param(b, "v", {2});
    b.add_update(v, v, UpdateCollective::Broadcast, 3);
    Graph b_back = parse(print(b));
    CHECK(b_back.updates()[0].collective == UpdateCollective::Broadcast);
    CHECK(b_back.updates()[0].root == 3);

    std::unique_ptr<Session> s = open_session("cpu");
    std::unique_ptr<Executable> e = compile_executable(*s, g);
    CHECK(e->collectives() == 1);
    s->set("w", HostTensor::from_doubles(DType::f32, {4}, {1, 2, 3, 4}));
    e->set("x", HostTensor::from_doubles(DType::f32, {4}, {10, 20, 30, 40}));
    e->run();
    HostTensor out = s->get("w");
    CHECK(out.get(0) == 11);
    CHECK(out.get(3) == 44);
}

}  // namespace pg
