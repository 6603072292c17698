// Plan memory binding, leaf and output access, and backend selection (see executable.h).
#include "runtime/executable.h"

#include <fmt/format.h>

#include "base/env.h"
#include "base/error.h"
#include "runtime/comm/communicator.h"
#include "runtime/cpu_executable.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"
#include "runtime/cuda/cuda_memory.h"
#include "runtime/tuning/tuning_db.h"

namespace pg {

PG_KNOB({.name = "PG_BACKEND", .kind = env::KnobKind::String, .default_value = "auto",
         .doc = "where graphs run: auto (CUDA when a GPU is usable, else CPU), cpu or cuda",
         .choices = {"auto", "cpu", "cuda"}});

namespace {

// Leaves are placed at 256-byte boundaries (cuMemAlloc's own alignment), so vector loads and the
// 32-bit words of narrow atomics never straddle two buffers' alignment assumptions.
constexpr int64_t kLeafAlign = 256;

int64_t aligned(int64_t bytes) { return (bytes + kLeafAlign - 1) / kLeafAlign * kLeafAlign; }

// Whether a CUDA device can be opened, probed once (the probe's error is kept for messages).
const std::string& cuda_probe_error() {
    static const std::string error = [] {
        try {
            CudaDevice::get();
            return std::string();
        } catch (const Error& e) {
            return std::string(e.what());
        }
    }();
    return error;
}

}  // namespace

Executable::Executable(ExecPlan plan, Session& session) : plan_(std::move(plan)), session_(session) {
    PG_ASSERT(session_.device().kind() == plan_.target.kind, "a {} plan in a session on {}", plan_.target.to_string(),
              session_.device().name());
    address_.assign(static_cast<size_t>(plan_.graph.size()), 0);
    place_leaves();
    place_arena();
}

void Executable::place_leaves() {
    std::vector<std::pair<NodeId, int64_t>> offsets;  // inputs and scalars in one allocation
    for (const PlanLeaf& l : plan_.leaves) {
        if (l.role == LeafRole::Param) {
            address_[l.node] = session_.bind(l.name, l.dtype, l.shape).address;
            continue;
        }
        offsets.emplace_back(l.node, private_bytes_);
        private_bytes_ += aligned(l.bytes());
    }
    leaf_memory_ = session_.device().alloc(static_cast<size_t>(private_bytes_));
    for (const auto& [node, offset] : offsets) address_[node] = leaf_memory_ + static_cast<uint64_t>(offset);
}

// The arena in an allocation of its own, at the device's alignment: its offsets then have the
// alignment the memory plan gave them relative to a fresh allocation (one block shared with the
// leaves measured ~3% slower on the CPU main job).
void Executable::place_arena() {
    arena_ = session_.device().alloc(static_cast<size_t>(plan_.arena_bytes));
    private_bytes_ += plan_.arena_bytes;
    for (NodeId i = 0; i < plan_.graph.size(); ++i)
        if (plan_.arena_offset[i] >= 0) address_[i] = arena_ + static_cast<uint64_t>(plan_.arena_offset[i]);
}

Executable::~Executable() {
    try {
        session_.device().synchronize();
    } catch (const Error&) {
        // A failed synchronize at teardown leaves nothing to recover; the memory is freed anyway.
    }
    session_.device().free(arena_);
    session_.device().free(leaf_memory_);
}

std::string Executable::profile_report(int) const { return ""; }

std::vector<KernelTime> Executable::profile() const { return {}; }

uint64_t Executable::address(NodeId id) const {
    PG_ASSERT(address_[id] != 0, "node %{} ({}) has no buffer", id, op_name(plan_.graph[id].op));
    return address_[id];
}

const PlanLeaf& Executable::leaf(const std::string& name) const {
    const PlanLeaf* l = plan_.find_leaf(name);
    PG_CHECK(l != nullptr, "the compiled graph has no input, param or scalar named '{}'", name);
    return *l;
}

bool Executable::has_leaf(const std::string& name) const { return plan_.find_leaf(name) != nullptr; }

uint64_t Executable::leaf_address(const std::string& name) const { return address(leaf(name).node); }

void Executable::set(const std::string& name, const HostTensor& value) {
    const PlanLeaf& l = leaf(name);
    if (l.role == LeafRole::Param) return session_.set(name, value);
    check_value(name, value, l.dtype, l.shape);
    session_.device().upload(address(l.node), value.data(), static_cast<size_t>(l.bytes()));
    session_.count(l.role == LeafRole::Input ? Transfer::Input : Transfer::Scalar, true, l.bytes());
}

void Executable::set_scalar(const std::string& name, double value) {
    const PlanLeaf& l = leaf(name);
    PG_CHECK(l.shape.empty(), "'{}' is not a scalar", name);
    HostTensor t(l.dtype, {});
    t.set(0, value);
    session_.device().upload(address(l.node), t.data(), t.bytes.size());
    session_.count(Transfer::Scalar, true, static_cast<int64_t>(t.bytes.size()));
}

HostTensor Executable::get(const std::string& name) const {
    NodeId id = plan_.output_node(name);
    if (id == kNoNode) {
        const PlanLeaf& l = leaf(name);
        if (l.role == LeafRole::Param) return session_.get(name);
        id = l.node;
    }
    const Node& n = plan_.graph[id];
    HostTensor t(n.dtype, n.shape);
    session_.device().download(t.data(), address(id), t.bytes.size());
    session_.count(Transfer::Output, false, static_cast<int64_t>(t.bytes.size()));
    return t;
}

comm::Communicator* Executable::collective_communicator() const {
    comm::Communicator* c = session_.communicator();
    if (!c)
        for (const PlanStep& st : plan_.steps)
            PG_CHECK(!collective_writes_state(st.collective), "the graph's {} needs the ranks' communicator, but the "
                     "session has none (a data-parallel graph run outside a distributed launch)", st.name);
    return c && collectives() > 0 ? c : nullptr;
}

void Executable::issue_collective(comm::Communicator& c, size_t index) const {
    const PlanStep& st = plan_.steps[index];
    std::vector<comm::CommBuffer> bucket;
    for (NodeId id : st.buffers) bucket.push_back({address(id), 0, numel(plan_.graph[id].shape), plan_.graph[id].dtype});
    if (st.collective == UpdateCollective::AllReduceAvg) {
        c.all_reduce(bucket, comm::ReduceOp::Avg);
        return;
    }
    if (collective_writes_state(st.collective)) {
        issue_block_collective(c, st);
        return;
    }
    for (size_t i = 0; i < bucket.size(); ++i) c.broadcast(bucket[i].address, bucket[i].count, bucket[i].dtype, st.roots[i]);
}

void Executable::issue_block_collective(comm::Communicator& c, const PlanStep& st) const {
    const bool scatter = st.collective == UpdateCollective::ReduceScatterAvg;
    for (size_t i = 0; i < st.buffers.size(); ++i) {
        const Node& value = plan_.graph[st.buffers[i]];
        const Node& state = plan_.graph[st.results[i]];
        const int64_t block = scatter ? numel(state.shape) : numel(value.shape);
        PG_CHECK(numel(scatter ? value.shape : state.shape) == block * c.size(),
                 "'{}' was built for {} ranks ({} {} into {}) but the world has {}: build the step graphs with this "
                 "launch's WORLD_SIZE", state.name, numel(scatter ? value.shape : state.shape) / block,
                 shape_str(value.shape), scatter ? "reduce-scattered" : "all-gathered", shape_str(state.shape),
                 c.size());
        const uint64_t send = address(st.buffers[i]), recv = address(st.results[i]);
        if (scatter) c.reduce_scatter(send, recv, block, value.dtype, comm::ReduceOp::Avg);
        else c.all_gather(send, recv, block, value.dtype);
    }
}

std::string selected_backend() {
    std::string b = env::get("PG_BACKEND");
    if (b == "auto") return cuda_probe_error().empty() ? "cuda" : "cpu";
    return b;
}

std::unique_ptr<Session> open_session(const std::string& backend) {
    std::string b = backend.empty() ? selected_backend() : backend;
    if (b == "cuda") {
        PG_CHECK(cuda_probe_error().empty(), "PG_BACKEND=cuda but no CUDA device is usable: {} (use PG_BACKEND=cpu)",
                 cuda_probe_error());
        return std::make_unique<Session>(make_cuda_memory(CudaDevice::get()));
    }
    PG_CHECK(b == "cpu", "unknown backend '{}': use cpu or cuda", b);
    return std::make_unique<Session>(make_cpu_device());
}

Target session_target(const Session& session) {
    Target t = session.device().kind() == TargetKind::Cuda ? cuda_target(CudaDevice::get().arch()) : cpu_target();
    t.tuned = tuned_decisions(session);
    return t;
}

std::unique_ptr<Executable> compile_executable(Session& session, const Graph& g) {
    Target t = session_target(session);
    if (t.kind == TargetKind::Cuda) return std::make_unique<CudaExecutable>(session, g, t);
    return std::make_unique<CpuExecutable>(session, g, t);
}

}  // namespace pg
