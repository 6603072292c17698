// CPU execution plan: build once, replay per step (see cpu_executable.h).
#include "runtime/cpu_executable.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <cstdlib>
#include <cstring>

#include "codegen/lower.h"
#include "codegen/memory_plan.h"
#include "codegen/passes.h"
#include "codegen/view.h"
#include "runtime/blas.h"
#include "runtime/cpu_jit.h"
#include "runtime/env.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace pg {

PG_KNOB({.name = "PG_PROFILE", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "1 times every kernel launch of the CPU plan (adds a clock read per launch)"});

struct CpuExecutable::LeafStorage {
    NodeId node = kNoNode;
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    uint8_t* data = nullptr;  // 64-byte aligned, owned
    size_t bytes = 0;
};

struct CpuExecutable::Step {
    enum Kind { Launch, Blas, Copy } kind = Launch;
    CpuKernelFn fn = nullptr;
    std::vector<void*> buffers;
    int64_t extent = 1;
    std::unique_ptr<BlasMatmul> blas;
    void* dst = nullptr;
    const void* src = nullptr;
    size_t bytes = 0;
};

namespace {

uint8_t* aligned_alloc_zeroed(size_t bytes) {
    size_t size = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, size));
    PG_CHECK(p != nullptr, "out of memory allocating {} bytes", size);
    std::memset(p, 0, size);
    return p;
}

int64_t node_bytes(const Node& n) { return numel(n.shape) * static_cast<int64_t>(dtype_size(n.dtype)); }

// The batch offsets of a strided view with the last two dims taken as the matrix.
std::vector<int64_t> batch_offsets(const StridedView& v) {
    size_t r = v.shape.size();
    std::vector<int64_t> offs{v.offset};
    for (size_t d = 0; d + 2 < r; ++d) {
        std::vector<int64_t> next;
        for (int64_t o : offs)
            for (int64_t i = 0; i < v.shape[d]; ++i) next.push_back(o + i * v.strides[d]);
        offs = std::move(next);
    }
    return offs;
}

}  // namespace

CpuExecutable::CpuExecutable(const Graph& g, const ScheduleOptions& opts) : graph_(run_passes(g, PassOptions{.widen_low_precision_matmuls = true})), opts_(opts) {
    build_plan();
}

CpuExecutable::~CpuExecutable() {
    for (LeafStorage& l : leaves_) std::free(l.data);
    std::free(arena_);
}

void CpuExecutable::build_plan() {
    blas_init();
    const Graph& g = graph_;
    schedule_ = pg::schedule(g, opts_);
    std::vector<bool> live = live_nodes(g);

    leaf_of_node_.assign(g.size(), -1);
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        if (!(n.op == Op::Param || n.op == Op::Input || n.op == Op::Scalar)) continue;
        leaf_of_node_[i] = static_cast<int>(leaves_.size());
        leaves_.push_back({i, n.name, n.dtype, n.shape, aligned_alloc_zeroed(node_bytes(n)),
                           static_cast<size_t>(node_bytes(n))});
    }

    // Lower every generated kernel and compile them together.
    std::vector<LoweredKernel> lowered(schedule_.kernels.size());
    std::vector<kir::Kernel> kernels;
    std::vector<int> program_index(schedule_.kernels.size(), -1);
    for (size_t k = 0; k < schedule_.kernels.size(); ++k) {
        const ScheduledKernel& sk = schedule_.kernels[k];
        if (sk.kind == KernelKind::Blas) continue;
        lowered[k] = lower_kernel(g, schedule_, sk, fmt::format("k{:03}_{}", k, op_name(g[sk.root].op)));
        program_index[k] = static_cast<int>(kernels.size());
        kernels.push_back(lowered[k].kernel);
    }
    auto t0 = std::chrono::steady_clock::now();
    program_ = CpuProgram::compile(kernels);
    stats_.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.cache_hits = program_->stats().cache_hits;

    // Liveness of materialised intermediates over kernel positions.
    std::vector<int> first(g.size(), -1), last(g.size(), -1);
    auto use = [&](NodeId id, int pos) {
        if (leaf_of_node_[id] < 0) last[id] = std::max(last[id], pos);
    };
    for (size_t k = 0; k < schedule_.kernels.size(); ++k) {
        const ScheduledKernel& sk = schedule_.kernels[k];
        first[sk.root] = static_cast<int>(k);
        if (sk.kind == KernelKind::Blas) {
            for (NodeId operand : g[sk.root].inputs) use(blas_operand(g, schedule_, operand).base, static_cast<int>(k));
        } else {
            for (NodeId id : lowered[k].buffer_nodes) use(id, static_cast<int>(k));
        }
    }
    for (const Output& o : g.outputs()) last[o.id] = INT_MAX;
    for (const StateUpdate& u : g.updates()) last[u.value] = INT_MAX;
    std::vector<BufferLifetime> lifetimes;
    std::vector<NodeId> lifetime_node;
    for (NodeId i = 0; i < g.size(); ++i) {
        if (first[i] < 0 || leaf_of_node_[i] >= 0) continue;
        lifetimes.push_back({node_bytes(g[i]), first[i], std::max(last[i], first[i])});
        lifetime_node.push_back(i);
    }
    MemoryPlan mp = plan_memory(lifetimes);
    arena_ = aligned_alloc_zeroed(static_cast<size_t>(mp.arena_bytes));
    arena_offset_.assign(g.size(), -1);
    for (size_t i = 0; i < lifetimes.size(); ++i) arena_offset_[lifetime_node[i]] = mp.offsets[i];
    stats_.arena_bytes = mp.arena_bytes;
    stats_.naive_bytes = mp.naive_bytes;

    // Steps.
    for (size_t k = 0; k < schedule_.kernels.size(); ++k) {
        const ScheduledKernel& sk = schedule_.kernels[k];
        Step st;
        if (sk.kind == KernelKind::Blas) {
            const Node& mm = g[sk.root];
            size_t r = mm.shape.size();
            auto va = blas_operand(g, schedule_, mm.inputs[0]);
            auto vb = blas_operand(g, schedule_, mm.inputs[1]);
            auto b = std::make_unique<BlasMatmul>();
            b->m = mm.shape[r - 2];
            b->n = mm.shape[r - 1];
            b->k = g[mm.inputs[0]].shape[r - 1];
            PG_ASSERT(blas_layout(va, b->trans_a, b->lda) && blas_layout(vb, b->trans_b, b->ldb),
                      "BLAS operands of %{} have no BLAS layout", sk.root);
            b->a_offsets = batch_offsets(va);
            b->b_offsets = batch_offsets(vb);
            StridedView vc{sk.root, mm.shape, contiguous_strides(mm.shape), 0};
            b->c_offsets = batch_offsets(vc);
            b->a = reinterpret_cast<const float*>(buffer_of(va.base));
            b->b = reinterpret_cast<const float*>(buffer_of(vb.base));
            b->c = reinterpret_cast<float*>(buffer_of(sk.root));
            st.kind = Step::Blas;
            st.blas = std::move(b);
            ++stats_.blas_calls;
        } else {
            st.kind = Step::Launch;
            st.fn = program_->fn(static_cast<size_t>(program_index[k]));
            for (NodeId id : lowered[k].buffer_nodes) st.buffers.push_back(buffer_of(id));
            st.extent = lowered[k].kernel.parallel_extent();
            (sk.kind == KernelKind::Loop ? stats_.loop_kernels : stats_.scatter_kernels)++;
        }
        steps_.push_back(std::move(st));
    }
    for (size_t k = 0; k < schedule_.kernels.size(); ++k) {
        const ScheduledKernel& sk = schedule_.kernels[k];
        step_names_.push_back(fmt::format("k{:03} {} {} {}", k, sk.kind == KernelKind::Blas ? "blas" : "loop",
                                          op_name(g[sk.root].op), shape_str(g[sk.root].shape)));
    }
    for (const StateUpdate& u : g.updates()) {
        Step st;
        st.kind = Step::Copy;
        st.dst = buffer_of(u.state);
        st.src = buffer_of(u.value);
        st.bytes = static_cast<size_t>(node_bytes(g[u.state]));
        if (st.dst != st.src) {
            steps_.push_back(std::move(st));
            step_names_.push_back(fmt::format("copy update of {}", g[u.state].name));
        }
    }
    profile_ = env::get_bool("PG_PROFILE");
    step_seconds_.assign(steps_.size(), 0.0);
    if (env::get_bool("PG_DEBUG"))
        fmt::print(stderr, "[pg] cpu plan: {}; arena {:.2f} MiB (unshared {:.2f} MiB); compile {:.2f}s ({} cache hits)\n",
                   describe(g, schedule_, false), mp.arena_bytes / 1048576.0, mp.naive_bytes / 1048576.0,
                   stats_.compile_seconds, stats_.cache_hits);
}

uint8_t* CpuExecutable::buffer_of(NodeId id) {
    if (leaf_of_node_[id] >= 0) return leaves_[leaf_of_node_[id]].data;
    PG_ASSERT(arena_offset_[id] >= 0, "node %{} ({}) has no buffer", id, op_name(graph_[id].op));
    return arena_ + arena_offset_[id];
}

const CpuExecutable::LeafStorage& CpuExecutable::leaf(const std::string& name) const {
    for (const LeafStorage& l : leaves_)
        if (l.name == name) return l;
    throw Error(fmt::format("the compiled graph has no input, param or scalar named '{}'", name));
}

bool CpuExecutable::has_leaf(const std::string& name) const {
    for (const LeafStorage& l : leaves_)
        if (l.name == name) return true;
    return false;
}

void CpuExecutable::set(const std::string& name, const HostTensor& value) {
    const LeafStorage& l = leaf(name);
    PG_CHECK(value.dtype == l.dtype && value.shape == l.shape, "value for '{}' is {} {}, expected {} {}", name,
             dtype_name(value.dtype), shape_str(value.shape), dtype_name(l.dtype), shape_str(l.shape));
    std::memcpy(l.data, value.data(), l.bytes);
}

void CpuExecutable::set_scalar(const std::string& name, double value) {
    const LeafStorage& l = leaf(name);
    PG_CHECK(l.shape.empty(), "'{}' is not a scalar", name);
    store_from_double(l.data, l.dtype, value);
}

void* CpuExecutable::leaf_data(const std::string& name) { return leaf(name).data; }

HostTensor CpuExecutable::get(const std::string& name) const {
    NodeId id = kNoNode;
    for (const Output& o : graph_.outputs())
        if (o.name == name) id = o.id;
    if (id == kNoNode) {
        const LeafStorage& l = leaf(name);
        HostTensor t(l.dtype, l.shape);
        std::memcpy(t.data(), l.data, l.bytes);
        return t;
    }
    const Node& n = graph_[id];
    HostTensor t(n.dtype, n.shape);
    const uint8_t* src = leaf_of_node_[id] >= 0 ? leaves_[leaf_of_node_[id]].data : arena_ + arena_offset_[id];
    std::memcpy(t.data(), src, t.bytes.size());
    return t;
}

void CpuExecutable::run() {
    ThreadPool& pool = ThreadPool::global();
    for (size_t i = 0; i < steps_.size(); ++i) {
        const Step& st = steps_[i];
        auto t0 = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        switch (st.kind) {
            case Step::Launch: {
                void** bufs = const_cast<void**>(st.buffers.data());
                if (st.extent <= 1)
                    st.fn(bufs, 0, 1);
                else
                    pool.parallel_for(0, st.extent, [&](int64_t b, int64_t e) { st.fn(bufs, b, e); });
                break;
            }
            case Step::Blas: run_blas(*st.blas); break;
            case Step::Copy: std::memcpy(st.dst, st.src, st.bytes); break;
        }
        if (profile_)
            step_seconds_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    profiled_runs_ += profile_;
}

std::string CpuExecutable::profile_report(int top) const {
    if (!profile_ || profiled_runs_ == 0) return "profile: set PG_PROFILE=1 and run at least once\n";
    std::vector<size_t> order(steps_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return step_seconds_[a] > step_seconds_[b]; });
    double total = 0;
    for (double s : step_seconds_) total += s;
    std::string out = fmt::format("profile over {} runs: {:.3f} ms per run\n", profiled_runs_, 1e3 * total / profiled_runs_);
    // Totals per kind and root op ("loop exp", "blas matmul", ...).
    std::map<std::string, std::pair<double, int>> by_kind;
    for (size_t k = 0; k < steps_.size(); ++k) {
        std::string name = step_names_[k];
        auto sp1 = name.find(' '), sp3 = name.find(' ', name.find(' ', sp1 + 1) + 1);
        std::string kind = sp3 == std::string::npos ? name : name.substr(sp1 + 1, sp3 - sp1 - 1);
        if (name.rfind("copy", 0) == 0) kind = "copy updates";
        by_kind[kind].first += step_seconds_[k];
        by_kind[kind].second += 1;
    }
    std::vector<std::pair<std::string, std::pair<double, int>>> kinds(by_kind.begin(), by_kind.end());
    std::sort(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
    out += "  by kind:";
    for (size_t i = 0; i < kinds.size() && i < 10; ++i)
        out += fmt::format(" {} {:.1f}ms/{}", kinds[i].first, 1e3 * kinds[i].second.first / profiled_runs_,
                           kinds[i].second.second);
    out += "\n";
    for (int i = 0; i < top && i < static_cast<int>(order.size()); ++i) {
        size_t k = order[i];
        out += fmt::format("  {:8.3f} ms {:5.1f}%  {}\n", 1e3 * step_seconds_[k] / profiled_runs_,
                           100.0 * step_seconds_[k] / std::max(total, 1e-12), step_names_[k]);
    }
    return out;
}

}  // namespace pg
