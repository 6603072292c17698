// The compile driver (see compile_plan.h) and ExecPlan's queries (see exec_plan.h).
#include "codegen/compile_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <functional>

#include "base/digest.h"
#include "base/dump.h"
#include "base/env.h"
#include "base/error.h"
#include "codegen/collective_plan.h"
#include "codegen/cuda/cuda_renderer.h"
#include "codegen/cuda/gemm_epilogue.h"
#include "codegen/cuda/owner_adds.h"
#include "codegen/lower.h"
#include "codegen/memory_plan.h"
#include "codegen/view.h"
#include "codegen/workload.h"
#include "ops/attention/attention_cuda.h"
#include "ops/cross_entropy/linear_ce_cuda.h"
#include "ops/gemm/gemm_cuda.h"
#include "ops/gemm/shared_memory.h"

namespace pg {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int64_t node_bytes(const Node& n) { return numel(n.shape) * static_cast<int64_t>(dtype_size(n.dtype)); }

std::vector<PlanLeaf> plan_leaves(const Graph& g) {
    std::vector<PlanLeaf> out;
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        if (n.op != Op::Param && n.op != Op::Input && n.op != Op::Scalar) continue;
        LeafRole role = n.op == Op::Param ? LeafRole::Param : n.op == Op::Input ? LeafRole::Input : LeafRole::Scalar;
        out.push_back({i, n.name, role, n.dtype, n.shape});
    }
    return out;
}

// The matmul `root` as a GEMM over strided views of its operands' materialised bases.
gemm::GemmProblem gemm_problem(const Graph& g, const Schedule& s, NodeId root, NodeId& a_base, NodeId& b_base) {
    const Node& mm = g[root];
    size_t r = mm.shape.size();
    StridedView va = gemm_operand(g, s, mm.inputs[0]);
    StridedView vb = gemm_operand(g, s, mm.inputs[1]);
    gemm::GemmProblem p;
    p.dtype = mm.dtype;
    p.m = mm.shape[r - 2];
    p.n = mm.shape[r - 1];
    p.k = g[mm.inputs[0]].shape[r - 1];
    PG_ASSERT(matrix_layout(va, p.trans_a, p.lda) && matrix_layout(vb, p.trans_b, p.ldb),
              "GEMM operands of %{} have no matrix layout", root);
    PG_ASSERT(g[va.base].dtype == p.dtype && g[vb.base].dtype == p.dtype, "GEMM operand dtypes of %{}", root);
    p.batch_shape.assign(mm.shape.begin(), mm.shape.end() - 2);
    p.a_batch_strides.assign(va.strides.begin(), va.strides.end() - 2);
    p.b_batch_strides.assign(vb.strides.begin(), vb.strides.end() - 2);
    p.a_offset = va.offset;
    p.b_offset = vb.offset;
    p.validate();
    a_base = va.base;
    b_base = vb.base;
    return p;
}

// The SM count the GEMM heuristic plans for (H100 SXM: 132; split-K slices and tile sizes are
// chosen to fill them once). Plans do not depend on the device they run on.
constexpr int kH100Sms = 132;

// The GEMM template instance of a Gemm step; its entry is named after the instance's own text,
// so equal GEMMs share one compile.
CudaKernelSource render_gemm(const PlanStep& st, const gemm::GemmConfig& c) {
    const gemm::GemmProblem& p = *st.gemm;
    std::optional<gemm::GemmEpilogue> epilogue;
    if (st.epilogue) epilogue = cuda::render_gemm_epilogue(*st.epilogue, st.stores_product);
    const gemm::GemmEpilogue* e = epilogue ? &*epilogue : nullptr;
    std::string entry = "gemm_" + sha256_hex(gemm::gemm_cuda_source(p, c, "entry", e)).substr(0, 12);
    CudaKernelSource k;
    k.name = st.name;
    k.source = gemm::gemm_cuda_source(p, c, entry, e);
    k.launches = {{entry, gemm::gemm_grid(p, c), c.threads(), c.dynamic_shared_bytes()}};
    k.mapping = fmt::format("gemm {} {}x{}x{} batch {}", c.to_string(), p.m, p.n, p.k, p.batch());
    if (e) k.mapping += st.stores_product ? "; epilogue" : "; epilogue, product not stored";
    if (c.split_k > 1) {
        k.launches.push_back({entry + "_reduce", gemm::gemm_reduce_grid(p), gemm::kReduceThreads, 0});
        k.mapping += fmt::format("; reduce {} slices", c.split_k);
        k.workspace_bytes = gemm::gemm_workspace_bytes(p, c);
    }
    return k;
}

// The step's configuration: the tuned one for its workload, else `heuristic`.
template <class T>
void configure(PlanStep& st, const Target& t, T heuristic) {
    T tuned = tuned_config(t.tuned, st.workload, heuristic);
    st.tuned = !(tuned == heuristic);
    st.config = tuned;
}

// A template instance of one launch, its entry named `prefix` + the digest of its own text
// (rendered with a placeholder entry): the same problem gets the same entry in every plan.
CudaKernelSource template_instance(const std::string& step, const std::string& prefix,
                                   const std::function<std::string(const std::string&)>& source,
                                   std::array<int64_t, 3> grid, int threads, std::string mapping) {
    const std::string entry = prefix + sha256_hex(source("entry")).substr(0, 12);
    CudaKernelSource k;
    k.name = step;
    k.source = source(entry);
    k.launches = {{entry, grid, threads}};
    k.mapping = std::move(mapping);
    return k;
}

// The attention template instance of an Attention step.
CudaKernelSource render_attention(const PlanStep& st) {
    const attn::AttentionProblem& p = *st.attention;
    CudaKernelSource k = template_instance(
        st.name, "attention_", [&](const std::string& e) { return attn::attention_cuda_source(p, e); },
        attn::attention_grid(p), attn::cuda_threads(p),
        fmt::format("flash {} blk {} threads {}", p.to_string(), attn::cuda_block_rows(p), attn::cuda_threads(p)));
    k.launches[0].smem = attn::cuda_shared_bytes(p);
    return k;
}

// An attention pass: the problem of its first node with every present sibling's slot marked.
PlanStep plan_attention_step(const Graph& g, const ScheduledKernel& sk, size_t index, const Target& t) {
    PlanStep st;
    st.kind = PlanStep::Kind::Attention;
    st.kernel_kind = sk.kind;
    st.attention = attn::problem_of(g, sk.root);
    for (size_t slot = 0; slot < sk.outputs.size(); ++slot) {
        st.attention->has_output[slot] = sk.outputs[slot] != kNoNode;
        if (sk.outputs[slot] != kNoNode) st.buffers.push_back(sk.outputs[slot]);
    }
    st.attention->validate();
    const std::vector<NodeId>& in = g[sk.root].inputs;
    st.buffers.insert(st.buffers.end(), in.begin(), in.end());
    st.name = fmt::format("k{:03}_attention_{}", index, st.attention->pass == attn::Pass::Forward ? "fwd" : "bwd");
    if (t.kind == TargetKind::Cuda) st.cuda = render_attention(st);
    return st;
}

// The linear cross-entropy template instance of a LinearCe step.
CudaKernelSource render_linear_ce(const PlanStep& st) {
    const ce::LinearCeProblem& p = *st.linear_ce;
    return template_instance(
        st.name, "linear_ce_", [&](const std::string& e) { return ce::linear_ce_cuda_source(p, e); },
        ce::linear_ce_grid(p), ce::kCudaThreads, fmt::format("linear ce {} threads {}", p.to_string(), ce::kCudaThreads));
}

// A linear cross-entropy pass: its output, then the template node's inputs.
PlanStep plan_linear_ce_step(const Graph& g, const ScheduledKernel& sk, size_t index, const Target& t) {
    PlanStep st;
    st.kind = PlanStep::Kind::LinearCe;
    st.kernel_kind = sk.kind;
    st.linear_ce = ce::problem_of(g, sk.root);
    st.buffers = {sk.root};
    st.buffers.insert(st.buffers.end(), g[sk.root].inputs.begin(), g[sk.root].inputs.end());
    static const char* kPassNames[] = {"fwd", "dx", "dw"};
    st.name = fmt::format("k{:03}_linear_ce_{}", index, kPassNames[static_cast<int>(st.linear_ce->pass)]);
    if (t.kind == TargetKind::Cuda) st.cuda = render_linear_ce(st);
    return st;
}

// A Gemm step's fused elementwise consumers: its epilogue kir and buffers (after A and B; the
// product's own buffer only when something else reads it).
void add_epilogue(const Graph& g, const Schedule& s, const ScheduledKernel& sk, PlanStep& st) {
    LoweredKernel e = lower_gemm_epilogue(g, s, sk, st.name);
    st.stores_product = sk.stores(sk.root);
    if (!st.stores_product) st.buffers.erase(st.buffers.begin());
    st.buffers.insert(st.buffers.end(), e.buffer_nodes.begin() + 1, e.buffer_nodes.end());
    dump_file(st.name + "_epilogue.kir", kir::to_string(e.kernel));
    st.epilogue = std::move(e.kernel);
}

PlanStep plan_kernel_step(const Graph& g, const Schedule& s, size_t index, const Target& t) {
    const ScheduledKernel& sk = s.kernels[index];
    if (sk.kind == KernelKind::Attention) return plan_attention_step(g, sk, index, t);
    if (sk.kind == KernelKind::LinearCe) return plan_linear_ce_step(g, sk, index, t);
    PlanStep st;
    st.kernel_kind = sk.kind;
    if (sk.kind == KernelKind::Gemm) {
        st.kind = PlanStep::Kind::Gemm;
        st.name = fmt::format("k{:03}_gemm", index);
        NodeId a = kNoNode, b = kNoNode;
        st.gemm = gemm_problem(g, s, sk.root, a, b);
        st.buffers = {sk.root, a, b};
        if (!sk.epilogue.empty()) add_epilogue(g, s, sk, st);
        st.workload = gemm_workload(*st.gemm);
        if (t.kind == TargetKind::Cpu) configure(st, t, CpuGemmConfig{});
        if (t.kind == TargetKind::Cuda) {
            configure(st, t, gemm::choose_gemm_config(*st.gemm, kH100Sms, t.gemm_split_k));
            gemm::check_shared_memory(std::get<gemm::GemmConfig>(st.config), t.arch);
            st.cuda = render_cuda_step(st, st.config);
        }
        return st;
    }
    st.kind = PlanStep::Kind::Kernel;
    st.name = fmt::format("k{:03}_{}", index, op_name(g[sk.root].op));
    LoweredKernel lowered = lower_kernel(g, s, sk, st.name);
    st.buffers = std::move(lowered.buffer_nodes);
    st.workload = loop_workload(g, sk.root, lowered.kernel);
    if (t.kind == TargetKind::Cpu) configure(st, t, CpuLoopConfig{});
    if (t.kind == TargetKind::Cuda) {
        configure(st, t, cuda::MappingConfig{});
        if (t.deterministic) cuda::give_adds_owner_threads(lowered.kernel);
        st.cuda = render_cuda(lowered.kernel, std::get<cuda::MappingConfig>(st.config));
        dump_file(st.name + ".kir", kir::to_string(lowered.kernel));
    }
    st.kir = std::move(lowered.kernel);
    return st;
}

void add_update_copies(ExecPlan& p) {
    for (const StateUpdate& u : p.graph.updates()) {
        if (u.value == u.state) continue;  // stores itself (a broadcast into the param, or nothing)
        if (collective_writes_state(u.collective)) continue;  // the collective stores it
        PlanStep st;
        bool zero = is_zero_fill(p.graph, u.value);
        st.kind = zero ? PlanStep::Kind::Zero : PlanStep::Kind::Copy;
        st.name = (zero ? "zero " : "update ") + p.graph[u.state].name;
        st.buffers = zero ? std::vector<NodeId>{u.state} : std::vector<NodeId>{u.state, u.value};
        st.copy_bytes = node_bytes(p.graph[u.state]);
        p.steps.push_back(std::move(st));
    }
}

// Liveness of every materialised intermediate over step positions (written at its kernel, read
// until its last user; outputs and update values to the end), then first-fit arena offsets.
void plan_arena(ExecPlan& p) {
    const Graph& g = p.graph;
    std::vector<bool> is_leaf(static_cast<size_t>(g.size()), false);
    for (const PlanLeaf& l : p.leaves) is_leaf[l.node] = true;
    std::vector<int> first(static_cast<size_t>(g.size()), -1), last(static_cast<size_t>(g.size()), -1);
    for (size_t pos = 0; pos < p.steps.size(); ++pos) {
        const PlanStep& st = p.steps[pos];
        if (st.kind == PlanStep::Kind::Copy || st.kind == PlanStep::Kind::Zero || st.kind == PlanStep::Kind::Collective)
            continue;  // their buffers are update values, live to the end
        const ScheduledKernel& k = p.schedule.kernels[pos];  // kernel steps precede the copies
        if (k.stores(k.root)) first[k.root] = static_cast<int>(pos);
        for (NodeId out : k.outputs)
            if (out != kNoNode) first[out] = static_cast<int>(pos);
        for (NodeId e : k.epilogue)
            if (k.stores(e)) first[e] = static_cast<int>(pos);
        for (NodeId id : st.buffers)
            if (!is_leaf[id]) last[id] = std::max(last[id], static_cast<int>(pos));
    }
    for (const Output& o : g.outputs()) last[o.id] = INT_MAX;
    for (const StateUpdate& u : g.updates())
        if (!is_zero_fill(g, u.value)) last[u.value] = INT_MAX;
    std::vector<BufferLifetime> lifetimes;
    std::vector<NodeId> lifetime_node;
    for (NodeId i = 0; i < g.size(); ++i) {
        if (first[i] < 0 || is_leaf[i]) continue;
        lifetimes.push_back({node_bytes(g[i]), first[i], std::max(last[i], first[i])});
        lifetime_node.push_back(i);
    }
    std::vector<size_t> workspace_step;  // steps with a workspace: live during their own step only
    for (size_t pos = 0; pos < p.steps.size(); ++pos) {
        if (!p.steps[pos].cuda || p.steps[pos].cuda->workspace_bytes == 0) continue;
        lifetimes.push_back({p.steps[pos].cuda->workspace_bytes, static_cast<int>(pos), static_cast<int>(pos)});
        workspace_step.push_back(pos);
    }
    MemoryPlan mp = plan_memory(lifetimes);
    p.arena_offset.assign(static_cast<size_t>(g.size()), -1);
    for (size_t i = 0; i < lifetime_node.size(); ++i) p.arena_offset[lifetime_node[i]] = mp.offsets[i];
    for (size_t i = 0; i < workspace_step.size(); ++i)
        p.steps[workspace_step[i]].workspace_offset = mp.offsets[lifetime_node.size() + i];
    p.arena_bytes = mp.arena_bytes;
    p.naive_bytes = mp.naive_bytes;
}

}  // namespace

CudaKernelSource render_cuda_step(const PlanStep& st, const KernelConfig& config) {
    if (st.kind == PlanStep::Kind::Attention) return render_attention(st);
    if (st.kind == PlanStep::Kind::LinearCe) return render_linear_ce(st);
    if (st.kind == PlanStep::Kind::Gemm) {
        const auto& c = std::get<gemm::GemmConfig>(config);
        c.validate();
        return render_gemm(st, c);
    }
    PG_ASSERT(st.kind == PlanStep::Kind::Kernel && st.kir, "render_cuda_step: {} is not a kernel step", st.name);
    return render_cuda(*st.kir, std::get<cuda::MappingConfig>(config));
}

int64_t PlanLeaf::bytes() const { return numel(shape) * static_cast<int64_t>(dtype_size(dtype)); }

int ExecPlan::count(PlanStep::Kind kind) const {
    return static_cast<int>(std::count_if(steps.begin(), steps.end(), [&](const PlanStep& s) { return s.kind == kind; }));
}

int ExecPlan::count(KernelKind kind) const {
    return static_cast<int>(std::count_if(steps.begin(), steps.end(), [&](const PlanStep& s) {
        bool kernel = s.kind == PlanStep::Kind::Kernel || s.kind == PlanStep::Kind::Gemm ||
                      s.kind == PlanStep::Kind::Attention || s.kind == PlanStep::Kind::LinearCe;
        return kernel && s.kernel_kind == kind;
    }));
}

std::vector<size_t> ExecPlan::collectives_after(int index) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < steps.size(); ++i)
        if (steps[i].kind == PlanStep::Kind::Collective && steps[i].issue_after == index) out.push_back(i);
    return out;
}

const PlanLeaf* ExecPlan::find_leaf(const std::string& name) const {
    for (const PlanLeaf& l : leaves)
        if (l.name == name) return &l;
    return nullptr;
}

std::vector<CudaKernelSource> ExecPlan::cuda_sources() const {
    std::vector<CudaKernelSource> out;
    for (const PlanStep& st : steps)
        if (st.cuda) out.push_back(*st.cuda);
    return out;
}

NodeId ExecPlan::output_node(const std::string& name) const {
    for (const Output& o : graph.outputs())
        if (o.name == name) return o.id;
    return kNoNode;
}

std::string ExecPlan::summary(bool with_timings) const {
    std::string s = fmt::format("{}: {}, {} copies, {} fills, {} collectives; arena {:.2f} MiB (unshared {:.2f} MiB)",
                                target.to_string(), describe(graph, schedule, false), count(PlanStep::Kind::Copy),
                                count(PlanStep::Kind::Zero), count(PlanStep::Kind::Collective), arena_bytes / 1048576.0, naive_bytes / 1048576.0);
    if (with_timings)
        s += fmt::format("; passes {:.3f}s schedule {:.3f}s lower {:.3f}s memory {:.3f}s", timings.passes,
                         timings.schedule, timings.lower, timings.memory);
    return s;
}

ExecPlan compile_plan(const Graph& g, const Target& target) {
    ExecPlan p;
    p.target = target;
    auto t = Clock::now();
    p.graph = run_passes(g, target.pass_options());
    p.timings.passes = seconds_since(t);
    t = Clock::now();
    p.schedule = schedule(p.graph, target.schedule_options());
    p.timings.schedule = seconds_since(t);
    t = Clock::now();
    p.leaves = plan_leaves(p.graph);
    for (size_t k = 0; k < p.schedule.kernels.size(); ++k) p.steps.push_back(plan_kernel_step(p.graph, p.schedule, k, target));
    add_collective_steps(p);
    add_update_copies(p);
    p.timings.lower = seconds_since(t);
    t = Clock::now();
    plan_arena(p);
    p.timings.memory = seconds_since(t);
    if (env::get_bool("PG_DEBUG")) fmt::print(stderr, "[pg] plan {}\n", p.summary(true));
    return p;
}

}  // namespace pg
