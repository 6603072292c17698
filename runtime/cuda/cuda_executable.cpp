// GPU replay of an execution plan: compile once, capture once, replay per step (see
// cuda_executable.h).
#include "runtime/cuda/cuda_executable.h"

#include <fmt/format.h>

#include "base/env.h"
#include "base/error.h"
#include "codegen/compile_plan.h"
#include "runtime/comm/communicator.h"
#include "runtime/cuda/checked_launches.h"
#include "runtime/cuda/cuda_graph.h"
#include "runtime/nan_check.h"

namespace pg {

PG_KNOB({.name = "PG_CUDA_GRAPH", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 captures the GPU step as a CUDA graph and replays it; 0 launches kernels one by one"});
PG_KNOB({.name = "PG_CUDA_SYNC", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "1 runs every GPU step kernel by kernel, synchronizing and checking after each, and names the kernel "
                "that faulted (slow: for bring-up and debugging; the first step always runs so)"});

struct CudaExecutable::Step {
    enum Kind { Launch, Copy, Zero, Complete } kind = Launch;  // Complete: the collectives
    void* function = nullptr;
    std::array<int64_t, 3> grid = {1, 1, 1};
    int block = 1;
    int smem = 0;                  // dynamic shared memory, bytes
    std::vector<DevicePtr> args;   // one device pointer per kernel argument
    std::vector<void*> arg_ptrs;   // &args[i]: a vector's buffer survives moves of the vector
    size_t bytes = 0;              // Copy: args = {dst, src}; Zero: args = {dst}
    std::string label;             // for fault reports: "k012_mul (entry k012_mul_p0, grid 64x1x1, block 256)"
    int64_t finishes = -1;         // the plan step whose output is final after this launch (its last)
};

// One tuning candidate of a plan step: its module and its launches over the step's buffers.
struct CudaExecutable::Variant {
    std::unique_ptr<CudaModule> module;
    std::vector<Step> launches;
    CudaDevice* device = nullptr;
    DevicePtr workspace = 0;  // the candidate's own split-K workspace (the plan's arena has one for its config only)
    Variant() = default;
    Variant(const Variant&) = delete;
    Variant& operator=(const Variant&) = delete;
    ~Variant() {
        if (workspace) device->free(workspace);
    }
};

namespace {

const Target& checked(const Target& target) {
    PG_CHECK(target.kind == TargetKind::Cuda, "CudaExecutable needs a CUDA target, got {}", target.to_string());
    return target;
}

}  // namespace

CudaExecutable::CudaExecutable(Session& session, const Graph& g, const Target& target)
    : Executable(compile_plan(g, checked(target)), session), device_(CudaDevice::get()),
      use_graph_(env::get_bool("PG_CUDA_GRAPH")), sync_(env::get_bool("PG_CUDA_SYNC")) {
    stats_.plan_seconds = plan_.timings.total();
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(plan_.cuda_sources(), {plan_.target.arch, true});
    build_steps(*program);
}

CudaExecutable::~CudaExecutable() {
    try {
        device_.synchronize();  // no kernel of this plan may still run when its modules unload
    } catch (const Error&) {
        // Nothing to recover at teardown.
    }
    cuda_graph_.reset();
    modules_.clear();
}

void CudaExecutable::add_replay_steps(const PlanStep& ps, const CudaProgram& program, size_t& source_index) {
    std::vector<DevicePtr> args;
    for (NodeId id : ps.buffers) args.push_back(address(id));
    if (ps.cuda && ps.cuda->workspace_bytes > 0) args.push_back(arena_address(ps.workspace_offset));
    if (!ps.cuda) {  // copies, fills, collectives
        Step st;
        st.kind = ps.kind == PlanStep::Kind::Copy ? Step::Copy : ps.kind == PlanStep::Kind::Zero ? Step::Zero : Step::Complete;
        st.args = args;
        st.bytes = static_cast<size_t>(ps.copy_bytes);
        st.label = fmt::format("{} ({} of {} bytes)", ps.name,
                               st.kind == Step::Copy ? "copy" : st.kind == Step::Zero ? "zero fill" : "collectives", st.bytes);
        steps_.push_back(std::move(st));
        return;
    }
    CudaModule& module = *modules_[program.module_of(source_index++)];
    for (const CudaLaunch& l : ps.cuda->launches) {
        Step st;
        st.function = module.function(l.entry);
        st.grid = l.grid;
        st.block = l.block;
        st.smem = l.smem;
        if (l.smem > 0) device_.allow_dynamic_shared(st.function, l.smem, ps.name);
        st.label = fmt::format("{} (entry {}, grid {}x{}x{}, block {})", ps.name, l.entry, l.grid[0], l.grid[1], l.grid[2],
                               l.block);
        st.args = args;
        for (DevicePtr& a : st.args) st.arg_ptrs.push_back(&a);
        steps_.push_back(std::move(st));
        ++stats_.launches;
    }
    steps_.back().finishes = &ps - plan_.steps.data();
    (ps.kernel_kind == KernelKind::Gemm         ? stats_.gemm_kernels
     : ps.kernel_kind == KernelKind::ScatterAdd ? stats_.scatter_kernels
     : ps.kernel_kind == KernelKind::Attention  ? stats_.attention_kernels
     : ps.kernel_kind == KernelKind::LinearCe   ? stats_.linear_ce_kernels
                                                : stats_.loop_kernels)++;
}

void CudaExecutable::build_steps(const CudaProgram& program) {
    stats_.compile = program.stats();
    stats_.arena_bytes = plan_.arena_bytes;
    stats_.naive_bytes = plan_.naive_bytes;
    for (size_t m = 0; m < program.num_modules(); ++m)
        modules_.push_back(std::make_unique<CudaModule>(device_, program.module(m)));
    size_t source_index = 0;
    std::vector<size_t> end_of;  // per plan step: the number of replay steps once it is enqueued
    for (const PlanStep& ps : plan_.steps) {
        add_replay_steps(ps, program, source_index);
        end_of.push_back(steps_.size());
    }
    // A bucket is issued after the last launch of the kernel that finishes its last value.
    issue_before_.assign(steps_.size() + 1, {});
    for (size_t i = 0; i < plan_.steps.size(); ++i)
        if (plan_.steps[i].kind == PlanStep::Kind::Collective) {
            const int after = plan_.steps[i].issue_after;
            issue_before_[after < 0 ? 0 : end_of[static_cast<size_t>(after)]].push_back(i);
        }
    device_.synchronize();
    if (env::get_bool("PG_DEBUG"))
        fmt::print(stderr, "[pg] cuda executable on {} ({}): {} launches; private memory {:.2f} MiB; plan {:.2f}s; {}\n",
                   device_.name(), device_.arch(), stats_.launches, private_bytes() / 1048576.0, stats_.plan_seconds,
                   to_string(stats_.compile));
}

std::string CudaExecutable::summary() const {
    const CudaPlanStats& s = stats_;
    return fmt::format("launches/step:{} (loop {}, gemm {}, scatter {}) arena:{:.1f}MiB plan:{:.2f}s cuda_graph:{}",
                       s.launches, s.loop_kernels, s.gemm_kernels, s.scatter_kernels, s.arena_bytes / 1048576.0,
                       s.plan_seconds, use_graph_ ? 1 : 0);
}

void CudaExecutable::issue_collectives(comm::Communicator* c, size_t before_step) {
    if (!c) return;
    for (size_t index : issue_before_[before_step]) issue_collective(*c, index);
}

void CudaExecutable::enqueue_step(size_t i, comm::Communicator* comm) {
    Step& st = steps_[i];
    if (st.kind == Step::Complete) {
        if (comm && !collectives_waited_) comm->wait();  // the compute stream waits for the communication stream
        collectives_waited_ = true;
    } else if (st.kind == Step::Launch) {
        device_.launch(st.function, st.grid, st.block, st.arg_ptrs.data(), st.smem);
    } else if (st.kind == Step::Copy) {
        device_.copy(st.args[0], st.args[1], st.bytes);
    } else {
        device_.fill_zero(st.args[0], st.bytes);
    }
    issue_collectives(comm, i + 1);
}

void CudaExecutable::enqueue() {
    comm::Communicator* comm = collective_communicator();
    collectives_waited_ = false;
    issue_collectives(comm, 0);
    for (size_t i = 0; i < steps_.size(); ++i) enqueue_step(i, comm);
}

// NCCL sets up its connections on a communicator's first collectives, which stream capture would
// refuse: this first, uncaptured step makes them too.
void CudaExecutable::run_checked_step() {
    comm::Communicator* comm = collective_communicator();
    collectives_waited_ = false;
    issue_collectives(comm, 0);
    run_checked(steps_.size(), {.enqueue = [&](size_t i) { enqueue_step(i, comm); },
                                .wait = [&] { device_.synchronize(); },
                                .describe = [&](size_t i) { return steps_[i].label; },
                                .after = [&](size_t i) {
                                    if (check_outputs_ && steps_[i].finishes >= 0) check_output(steps_[i].finishes);
                                }});
}

// PG_NAN_CHECK=full: the finished kernel's output, copied to the host and scanned.
void CudaExecutable::check_output(int64_t plan_step) {
    const PlanStep& ps = plan_.steps[static_cast<size_t>(plan_step)];
    const NodeId root = plan_.schedule.kernels[static_cast<size_t>(plan_step)].root;
    const Node& n = plan_.graph[root];
    std::vector<uint8_t> host(static_cast<size_t>(numel(n.shape)) * dtype_size(n.dtype));
    device_.download(host.data(), address(root), host.size());
    check_kernel_output(fmt::format("{} {}", ps.name, shape_str(n.shape)), ps.name, host.data(), n.dtype, n.shape);
}

// The first step runs checked, launch by launch, before any graph is captured: a fault on a new
// GPU names its kernel, and whatever runs once lazily (module loading, first-touch allocations)
// has run before capture. PG_CUDA_SYNC=1 and PG_NAN_CHECK=full check every step.
void CudaExecutable::run() {
    if (sync_ || check_outputs_ || !checked_once_) {
        run_checked_step();
        checked_once_ = true;
        return;
    }
    if (!use_graph_) {
        enqueue();
        return;
    }
    if (!cuda_graph_) cuda_graph_ = std::make_unique<CudaGraph>(device_, [&] { enqueue(); });
    cuda_graph_->launch();
}

void CudaExecutable::run_eager() { enqueue(); }

void CudaExecutable::synchronize() { device_.synchronize(); }

void CudaExecutable::run_step(size_t i, const KernelConfig& config) {
    const PlanStep& ps = plan_.steps.at(i);
    PG_ASSERT(ps.kind == PlanStep::Kind::Kernel || ps.kind == PlanStep::Kind::Gemm, "run_step {}: not a kernel step", i);
    const KernelConfig& c = std::holds_alternative<std::monostate>(config) ? ps.config : config;
    auto& variant = variants_[{i, config_string(c)}];
    if (!variant) {
        CudaKernelSource src = render_cuda_step(ps, c);
        std::unique_ptr<CudaProgram> program = CudaProgram::compile({src}, {plan_.target.arch, true});
        variant = std::make_unique<Variant>();
        variant->module = std::make_unique<CudaModule>(device_, program->cubin(0));
        variant->device = &device_;
        if (src.workspace_bytes > 0) variant->workspace = device_.alloc(static_cast<size_t>(src.workspace_bytes));
        for (const CudaLaunch& l : src.launches) {
            Step st;
            st.function = variant->module->function(l.entry);
            st.grid = l.grid;
            st.block = l.block;
            st.smem = l.smem;
            if (l.smem > 0) device_.allow_dynamic_shared(st.function, l.smem, ps.name + " (tuning candidate)");
            for (NodeId id : ps.buffers) st.args.push_back(address(id));
            if (variant->workspace) st.args.push_back(variant->workspace);
            variant->launches.push_back(std::move(st));
        }
        for (Step& st : variant->launches)
            for (DevicePtr& a : st.args) st.arg_ptrs.push_back(&a);
    }
    for (Step& st : variant->launches) device_.launch(st.function, st.grid, st.block, st.arg_ptrs.data(), st.smem);
}

HostTensor CudaExecutable::step_output(size_t i) {
    const Node& root = plan_.graph[plan_.schedule.kernels.at(i).root];
    HostTensor t(root.dtype, root.shape);
    device_.download(t.data(), address(plan_.schedule.kernels[i].root), t.bytes.size());
    return t;
}

}  // namespace pg
