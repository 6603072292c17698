// GPU execution plan: build once, capture once, replay per step (see cuda_executable.h).
#include "runtime/cuda/cuda_executable.h"

#include <fmt/format.h>

#include <climits>

#include "codegen/memory_plan.h"
#include "codegen/passes.h"
#include "runtime/cuda/cuda_compile_plan.h"
#include "runtime/cuda/cuda_graph.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace pg {

PG_KNOB({.name = "PG_CUDA_GRAPH", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 captures the GPU step as a CUDA graph and replays it; 0 launches kernels one by one"});

namespace {

// Leaves are placed at 256-byte boundaries (cuMemAlloc's own alignment), so vector loads and the
// 32-bit words of narrow atomics never straddle two buffers' alignment assumptions.
constexpr int64_t kLeafAlign = 256;
// Slack after the last buffer: a narrow (8/16-bit) atomic updates its whole 32-bit word.
constexpr int64_t kTailPadding = 256;

int64_t node_bytes(const Node& n) { return numel(n.shape) * static_cast<int64_t>(dtype_size(n.dtype)); }

}  // namespace

struct CudaExecutable::LeafSlot {
    NodeId node = kNoNode;
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    int64_t bytes = 0;
};

struct CudaExecutable::Step {
    enum Kind { Launch, Copy } kind = Launch;
    void* function = nullptr;
    std::array<int64_t, 3> grid = {1, 1, 1};
    int block = 1;
    std::vector<DevicePtr> args;   // one device pointer per kernel argument
    std::vector<void*> arg_ptrs;   // &args[i]: a vector's buffer survives moves of the vector
    DevicePtr dst = 0, src = 0;
    size_t bytes = 0;
};

CudaExecutable::CudaExecutable(const Graph& g, const ScheduleOptions& opts)
    : device_(CudaDevice::get()), graph_(run_passes(g)), use_graph_(env::get_bool("PG_CUDA_GRAPH")) {
    build_plan(opts);
}

CudaExecutable::~CudaExecutable() {
    cuda_graph_.reset();
    modules_.clear();
    try {
        device_.synchronize();
        device_.free(memory_);
    } catch (const Error&) {
        // A failed free at teardown leaves nothing to recover; the process keeps running.
    }
}

void CudaExecutable::build_plan(const ScheduleOptions& opts) {
    const Graph& g = graph_;
    CompiledCudaPlan plan = compile_cuda_plan(g, opts, {device_.arch(), true});
    schedule_ = std::move(plan.schedule);
    stats_.plan_seconds = plan.plan_seconds;
    stats_.compile = plan.program->stats();
    for (size_t m = 0; m < plan.program->num_modules(); ++m)
        modules_.push_back(std::make_unique<CudaModule>(device_, plan.program->module(m)));

    // Leaves first, each at a 256-byte boundary.
    offset_.assign(static_cast<size_t>(g.size()), -1);
    int64_t leaf_end = 0;
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        if (!(n.op == Op::Param || n.op == Op::Input || n.op == Op::Scalar)) continue;
        offset_[i] = leaf_end;
        leaves_.push_back({i, n.name, n.dtype, n.shape, node_bytes(n)});
        leaf_end += (node_bytes(n) + kLeafAlign - 1) / kLeafAlign * kLeafAlign;
    }
    stats_.leaf_bytes = leaf_end;

    // Liveness of intermediates over kernel positions, as on the CPU.
    std::vector<int> first(static_cast<size_t>(g.size()), -1), last(static_cast<size_t>(g.size()), -1);
    for (const CudaPlannedKernel& k : plan.kernels) {
        int pos = static_cast<int>(k.schedule_index);
        first[schedule_.kernels[k.schedule_index].root] = pos;
        for (NodeId id : k.buffer_nodes)
            if (offset_[id] < 0) last[id] = std::max(last[id], pos);
    }
    for (const Output& o : g.outputs()) last[o.id] = INT_MAX;
    for (const StateUpdate& u : g.updates()) last[u.value] = INT_MAX;
    std::vector<BufferLifetime> lifetimes;
    std::vector<NodeId> lifetime_node;
    for (NodeId i = 0; i < g.size(); ++i) {
        if (first[i] < 0 || offset_[i] >= 0) continue;
        lifetimes.push_back({node_bytes(g[i]), first[i], std::max(last[i], first[i])});
        lifetime_node.push_back(i);
    }
    MemoryPlan mp = plan_memory(lifetimes);
    for (size_t i = 0; i < lifetimes.size(); ++i) offset_[lifetime_node[i]] = leaf_end + mp.offsets[i];
    stats_.arena_bytes = mp.arena_bytes;
    stats_.naive_bytes = mp.naive_bytes;
    size_t total = static_cast<size_t>(leaf_end + mp.arena_bytes + kTailPadding);
    memory_ = device_.alloc(total);
    device_.fill_zero(memory_, total);

    for (size_t i = 0; i < plan.kernels.size(); ++i) {
        const CudaPlannedKernel& k = plan.kernels[i];
        CudaModule& module = *modules_[plan.program->module_of(i)];
        for (const CudaLaunch& l : k.source.launches) {
            Step st;
            st.kind = Step::Launch;
            st.function = module.function(l.entry);
            st.grid = l.grid;
            st.block = l.block;
            for (NodeId id : k.buffer_nodes) st.args.push_back(address_of(id));
            for (DevicePtr& a : st.args) st.arg_ptrs.push_back(&a);
            steps_.push_back(std::move(st));
            ++stats_.launches;
        }
        (k.kind == KernelKind::Blas ? stats_.gemm_kernels
         : k.kind == KernelKind::ScatterAdd ? stats_.scatter_kernels
                                            : stats_.loop_kernels)++;
    }
    for (const StateUpdate& u : g.updates()) {
        Step st;
        st.kind = Step::Copy;
        st.dst = address_of(u.state);
        st.src = address_of(u.value);
        st.bytes = static_cast<size_t>(node_bytes(g[u.state]));
        if (st.dst != st.src) steps_.push_back(std::move(st));
    }
    device_.synchronize();
    if (env::get_bool("PG_DEBUG"))
        fmt::print(stderr, "[pg] cuda plan on {} ({}): {}; {} launches; memory {:.2f} MiB leaves + {:.2f} MiB arena "
                           "(unshared {:.2f} MiB); plan {:.2f}s; {}\n",
                   device_.name(), device_.arch(), describe(g, schedule_, false), stats_.launches,
                   leaf_end / 1048576.0, mp.arena_bytes / 1048576.0, mp.naive_bytes / 1048576.0, stats_.plan_seconds,
                   to_string(stats_.compile));
}

DevicePtr CudaExecutable::address_of(NodeId id) const {
    PG_ASSERT(offset_[id] >= 0, "node %{} ({}) has no device buffer", id, op_name(graph_[id].op));
    return memory_ + static_cast<DevicePtr>(offset_[id]);
}

const CudaExecutable::LeafSlot& CudaExecutable::leaf(const std::string& name) const {
    for (const LeafSlot& l : leaves_)
        if (l.name == name) return l;
    throw Error(fmt::format("the compiled graph has no input, param or scalar named '{}'", name));
}

bool CudaExecutable::has_leaf(const std::string& name) const {
    for (const LeafSlot& l : leaves_)
        if (l.name == name) return true;
    return false;
}

void CudaExecutable::set(const std::string& name, const HostTensor& value) {
    const LeafSlot& l = leaf(name);
    PG_CHECK(value.dtype == l.dtype && value.shape == l.shape, "value for '{}' is {} {}, expected {} {}", name,
             dtype_name(value.dtype), shape_str(value.shape), dtype_name(l.dtype), shape_str(l.shape));
    device_.upload(address_of(l.node), value.data(), static_cast<size_t>(l.bytes));
}

void CudaExecutable::set_scalar(const std::string& name, double value) {
    const LeafSlot& l = leaf(name);
    PG_CHECK(l.shape.empty(), "'{}' is not a scalar", name);
    HostTensor t(l.dtype, {});
    t.set(0, value);
    device_.upload(address_of(l.node), t.data(), t.bytes.size());
}

DevicePtr CudaExecutable::leaf_data(const std::string& name) const { return address_of(leaf(name).node); }

HostTensor CudaExecutable::get(const std::string& name) const {
    NodeId id = kNoNode;
    for (const Output& o : graph_.outputs())
        if (o.name == name) id = o.id;
    if (id == kNoNode) id = leaf(name).node;
    const Node& n = graph_[id];
    HostTensor t(n.dtype, n.shape);
    device_.download(t.data(), address_of(id), t.bytes.size());
    return t;
}

void CudaExecutable::enqueue() {
    for (Step& st : steps_) {
        if (st.kind == Step::Launch)
            device_.launch(st.function, st.grid, st.block, st.arg_ptrs.data());
        else
            device_.copy(st.dst, st.src, st.bytes);
    }
}

void CudaExecutable::run() {
    if (!use_graph_) {
        enqueue();
        return;
    }
    if (!cuda_graph_) cuda_graph_ = std::make_unique<CudaGraph>(device_, [&] { enqueue(); });
    cuda_graph_->launch();
}

void CudaExecutable::run_eager() { enqueue(); }

void CudaExecutable::synchronize() { device_.synchronize(); }

}  // namespace pg
