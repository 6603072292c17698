// Bucketing and placement of collective steps (see collective_plan.h).
#include "codegen/collective_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "base/env.h"
#include "base/error.h"

namespace pg {

PG_KNOB({.name = "PG_BUCKET_MB", .kind = env::KnobKind::Float, .default_value = "25",
         .doc = "size cap in MiB of one gradient all-reduce bucket (DDP's bucket_cap_mb)"});

namespace {

struct ReadyValue {
    int ready;  // the step after which the value is final and unread
    NodeId value;
    int64_t bytes;
    UpdateCollective collective;
    int root;
    std::string state;  // the param it is stored into
    NodeId state_node;
};

const char* collective_label(UpdateCollective c) {
    switch (c) {
        case UpdateCollective::Broadcast: return "broadcast";
        case UpdateCollective::ReduceScatterAvg: return "reduce_scatter_avg";
        case UpdateCollective::AllGather: return "all_gather";
        default: return "all_reduce_avg";
    }
}

bool is_leaf(const Node& n) { return n.op == Op::Param || n.op == Op::Input || n.op == Op::Scalar || n.op == Op::Const; }

// The values of the updates with a collective, each once, in the order the ranks issue them:
// all-reduces as they become ready (the same graph on every rank); broadcasts by the name of
// their param, since each rank's optimizer graph computes different values (and adds its updates
// in another order) but all must issue the same sequence of collectives.
std::vector<ReadyValue> ready_values(const ExecPlan& p) {
    const Graph& g = p.graph;
    std::vector<int> last(static_cast<size_t>(g.size()), -1);
    for (size_t pos = 0; pos < p.steps.size(); ++pos)
        for (NodeId id : p.steps[pos].buffers) last[id] = std::max(last[id], static_cast<int>(pos));
    std::vector<ReadyValue> out;
    std::vector<bool> seen(static_cast<size_t>(g.size()), false);
    for (const StateUpdate& u : g.updates()) {
        if (u.collective == UpdateCollective::None || seen[u.value]) continue;
        seen[u.value] = true;
        const Node& v = g[u.value];
        PG_CHECK(u.collective == UpdateCollective::Broadcast ? u.value == u.state || !is_leaf(v) : !is_leaf(v),
                 "the update of '{}' with a collective must store a value the graph computes (or, for a broadcast, "
                 "the param itself), not a {} leaf", g[u.state].name, op_name(v.op));
        // A collective that writes the state must also wait for the kernels that read the old one.
        const int ready =
            collective_writes_state(u.collective) ? std::max(last[u.value], last[u.state]) : last[u.value];
        out.push_back({ready, u.value, numel(v.shape) * static_cast<int64_t>(dtype_size(v.dtype)), u.collective,
                       u.root, g[u.state].name, u.state});
    }
    const bool broadcasts = std::any_of(out.begin(), out.end(), [](auto& r) { return r.collective == UpdateCollective::Broadcast; });
    PG_CHECK(!broadcasts || std::all_of(out.begin(), out.end(), [](auto& r) { return r.collective == UpdateCollective::Broadcast; }),
             "a graph mixes all-reduced and broadcast updates; give each its own graph");
    std::stable_sort(out.begin(), out.end(), [&](const ReadyValue& a, const ReadyValue& b) {
        return broadcasts ? a.state < b.state : a.ready < b.ready;
    });
    return out;
}

}  // namespace

void add_collective_steps(ExecPlan& p) {
    const auto cap = static_cast<int64_t>(env::get_float("PG_BUCKET_MB") * 1048576.0);
    PG_CHECK(cap > 0, "PG_BUCKET_MB={} must be positive", env::get("PG_BUCKET_MB"));
    std::vector<PlanStep> buckets;
    for (const ReadyValue& r : ready_values(p)) {
        if (buckets.empty() || buckets.back().copy_bytes + r.bytes > cap || buckets.back().collective != r.collective) {
            PlanStep st;
            st.kind = PlanStep::Kind::Collective;
            st.collective = r.collective;
            st.issue_after = buckets.empty() ? -1 : buckets.back().issue_after;  // issued in order
            buckets.push_back(std::move(st));
        }
        PlanStep& b = buckets.back();
        b.buffers.push_back(r.value);
        if (r.collective == UpdateCollective::Broadcast) b.roots.push_back(r.root);
        if (collective_writes_state(r.collective)) b.results.push_back(r.state_node);
        b.copy_bytes += r.bytes;
        b.issue_after = std::max(b.issue_after, r.ready);
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
        buckets[i].name = fmt::format("{} bucket {} ({} tensors, {:.2f} MiB, after step {})",
                                      collective_label(buckets[i].collective),
                                      i, buckets[i].buffers.size(), buckets[i].copy_bytes / 1048576.0,
                                      buckets[i].issue_after);
        p.steps.push_back(std::move(buckets[i]));
    }
}

}  // namespace pg
