// CPU replay of an execution plan (see cpu_executable.h).
#include "runtime/cpu_executable.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <utility>

#include "base/env.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "codegen/compile_plan.h"
#include "codegen/llvm/loop_blocking.h"
#include "ops/attention/flash_cpu.h"
#include "ops/cross_entropy/linear_ce_cpu.h"
#include "runtime/blas.h"
#include "runtime/comm/communicator.h"
#include "runtime/cpu_jit.h"
#include "runtime/nan_check.h"

namespace pg {

PG_KNOB({.name = "PG_PROFILE", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "1 times every kernel launch of the CPU plan (adds a clock read per launch)"});

struct CpuExecutable::Step {
    enum Kind { Launch, Blas, Copy, Zero, Complete, Attention, LinearCe } kind = Launch;  // Complete: the collectives
    CpuKernelFn fn = nullptr;
    std::vector<void*> buffers;
    int64_t extent = 1;
    int threads = 0;  // Launch: CpuLoopConfig::threads
    std::unique_ptr<BlasMatmul> blas;
    size_t bytes = 0;  // Copy: buffers = {dst, src}; Zero: buffers = {dst}
    std::optional<attn::AttentionProblem> attention;  // buffers in slot order (attn::slot_buffers)
    std::optional<ce::LinearCeProblem> linear_ce;     // buffers: the output, then the inputs
};

namespace {

using Clock = std::chrono::steady_clock;

const Target& checked(const Target& target) {
    PG_CHECK(target.kind == TargetKind::Cpu, "CpuExecutable needs a CPU target, got {}", target.to_string());
    return target;
}

}  // namespace

CpuExecutable::CpuExecutable(Session& session, const Graph& g, const Target& target)
    : Executable(compile_plan(g, checked(target)), session) {
    stats_.plan_seconds = plan_.timings.total();
    blas_init();
    build_steps();
}

CpuExecutable::~CpuExecutable() = default;

void CpuExecutable::build_steps() {
    std::vector<kir::Kernel> kernels;
    for (const PlanStep& st : plan_.steps)
        if (st.kind == PlanStep::Kind::Kernel) kernels.push_back(blocked_kernel(*st.kir, std::get<CpuLoopConfig>(st.config)));
    auto t0 = Clock::now();
    program_ = CpuProgram::compile(kernels);
    stats_.compile_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    stats_.cache_hits = program_->stats().cache_hits;
    stats_.arena_bytes = plan_.arena_bytes;
    stats_.naive_bytes = plan_.naive_bytes;

    size_t next_fn = 0;
    for (const PlanStep& ps : plan_.steps) {
        const size_t kernel_index = next_fn;
        Step st;
        for (NodeId id : ps.buffers) st.buffers.push_back(reinterpret_cast<void*>(address(id)));
        if (ps.kind == PlanStep::Kind::Gemm) {
            PG_ASSERT(!ps.epilogue, "{}: OpenBLAS runs no GEMM epilogue (a CPU plan has none)", ps.name);
            st.kind = Step::Blas;
            st.blas = std::make_unique<BlasMatmul>(make_blas_matmul(*ps.gemm, st.buffers[0], st.buffers[1], st.buffers[2]));
            st.blas->row_blocks = std::get<CpuGemmConfig>(ps.config).row_blocks;
            ++stats_.blas_calls;
        } else if (ps.kind == PlanStep::Kind::Kernel) {
            st.kind = Step::Launch;
            st.fn = program_->fn(next_fn++);
            st.extent = kernels[kernel_index].parallel_extent();
            st.threads = std::get<CpuLoopConfig>(ps.config).threads;
            (ps.kernel_kind == KernelKind::Loop ? stats_.loop_kernels : stats_.scatter_kernels)++;
        } else if (ps.kind == PlanStep::Kind::Attention) {
            st.kind = Step::Attention;
            st.attention = ps.attention;
            st.buffers = attn::slot_buffers(*ps.attention, st.buffers);
            ++stats_.attention_kernels;
        } else if (ps.kind == PlanStep::Kind::LinearCe) {
            st.kind = Step::LinearCe;
            st.linear_ce = ps.linear_ce;
            ++stats_.linear_ce_kernels;
        } else if (ps.kind == PlanStep::Kind::Collective) {
            st.kind = Step::Complete;
        } else {
            st.kind = ps.kind == PlanStep::Kind::Zero ? Step::Zero : Step::Copy;
            st.bytes = static_cast<size_t>(ps.copy_bytes);
        }
        steps_.push_back(std::move(st));
    }
    issue_before_.assign(steps_.size() + 1, {});
    for (size_t i = 0; i < plan_.steps.size(); ++i)
        if (plan_.steps[i].kind == PlanStep::Kind::Collective)
            issue_before_[static_cast<size_t>(plan_.steps[i].issue_after + 1)].push_back(i);
    profile_ = env::get_bool("PG_PROFILE");
    check_outputs_ = nan_check_mode() == NanCheck::Full;
    step_seconds_.assign(steps_.size(), 0.0);
    if (env::get_bool("PG_DEBUG"))
        fmt::print(stderr, "[pg] cpu executable: plan {:.2f}s, compile {:.2f}s ({} cache hits), private memory {:.2f} MiB\n",
                   stats_.plan_seconds, stats_.compile_seconds, stats_.cache_hits, private_bytes() / 1048576.0);
}

void CpuExecutable::run_one(const Step& st) const {
    switch (st.kind) {
        case Step::Launch: {
            void** bufs = const_cast<void**>(st.buffers.data());
            if (st.extent <= 1 || st.threads == 1) {
                st.fn(bufs, 0, st.extent);
                break;
            }
            // A thread split of t threads: chunks of at least extent / t iterations.
            int64_t min_chunk = st.threads > 1 ? (st.extent + st.threads - 1) / st.threads : 1;
            ThreadPool::global().parallel_for(0, st.extent, [&](int64_t b, int64_t e) { st.fn(bufs, b, e); }, min_chunk);
            break;
        }
        case Step::Blas: run_blas(*st.blas); break;
        case Step::Copy: std::memcpy(st.buffers[0], st.buffers[1], st.bytes); break;
        case Step::Zero: std::memset(st.buffers[0], 0, st.bytes); break;
        case Step::Complete: break;  // run() completes the collectives: it holds the communicator
        case Step::Attention: attn::flash_cpu(*st.attention, st.buffers); break;
        case Step::LinearCe: ce::linear_ce_cpu(*st.linear_ce, st.buffers); break;
    }
}

void CpuExecutable::issue_collectives(comm::Communicator* c, size_t before_step) const {
    if (!c) return;
    for (size_t index : issue_before_[before_step]) issue_collective(*c, index);
    c->progress();  // MPI moves the requests in flight only inside its calls
}

void CpuExecutable::run() {
    comm::Communicator* comm = collective_communicator();
    bool completed = false;
    issue_collectives(comm, 0);
    for (size_t i = 0; i < steps_.size(); ++i) {
        auto t0 = profile_ ? Clock::now() : Clock::time_point{};
        if (steps_[i].kind == Step::Complete) {
            if (comm && !completed) comm->wait();
            completed = true;
        } else {
            run_one(steps_[i]);
        }
        issue_collectives(comm, i + 1);
        if (profile_) step_seconds_[i] += std::chrono::duration<double>(Clock::now() - t0).count();
        Step::Kind k = steps_[i].kind;
        if (check_outputs_ && (k == Step::Launch || k == Step::Blas || k == Step::Attention || k == Step::LinearCe))
            check_output(i);
    }
    profiled_runs_ += profile_;
}

void CpuExecutable::run_step(size_t i, const KernelConfig& config) {
    PG_ASSERT(i < steps_.size() && (steps_[i].kind == Step::Launch || steps_[i].kind == Step::Blas),
              "run_step {}: not a kernel or GEMM step", i);
    Step& st = steps_[i];
    if (std::holds_alternative<std::monostate>(config)) {
        run_one(st);
        return;
    }
    if (const auto* loop = std::get_if<CpuLoopConfig>(&config)) {
        PG_ASSERT(st.kind == Step::Launch, "a loop config for GEMM step {}", i);
        const auto& own = std::get<CpuLoopConfig>(plan_.steps[i].config);
        Step& target = loop->rows == own.rows && loop->inner == own.inner ? st : blocking_variant(i, *loop);
        int saved = std::exchange(target.threads, loop->threads);
        run_one(target);
        target.threads = saved;
        return;
    }
    const auto* gemm = std::get_if<CpuGemmConfig>(&config);
    PG_ASSERT(gemm && st.kind == Step::Blas, "run_step {}: config {} does not fit", i, config_string(config));
    int saved = std::exchange(st.blas->row_blocks, gemm->row_blocks);
    run_one(st);
    st.blas->row_blocks = saved;
}

void CpuExecutable::prepare_step(size_t i, const KernelConfig& config) {
    const auto* loop = std::get_if<CpuLoopConfig>(&config);
    if (!loop || plan_.steps.at(i).kind != PlanStep::Kind::Kernel) return;
    const auto& own = std::get<CpuLoopConfig>(plan_.steps[i].config);
    if (loop->rows != own.rows || loop->inner != own.inner) blocking_variant(i, *loop);
}

CpuExecutable::Step& CpuExecutable::blocking_variant(size_t i, const CpuLoopConfig& blocking) {
    auto key = std::make_pair(i, fmt::format("{}x{}", blocking.rows, blocking.inner));
    auto it = variants_.find(key);
    if (it != variants_.end()) return *it->second.second;
    kir::Kernel k = blocked_kernel(*plan_.steps[i].kir, blocking);
    auto program = CpuProgram::compile({k});
    auto st = std::make_unique<Step>();
    st->buffers = steps_[i].buffers;
    st->fn = program->fn(0);
    st->extent = k.parallel_extent();
    Step& out = *st;
    variants_.emplace(key, std::make_pair(std::move(program), std::move(st)));
    return out;
}

std::string_view CpuExecutable::step_output(size_t i) const {
    const Node& root = plan_.graph[plan_.schedule.kernels.at(i).root];
    size_t bytes = static_cast<size_t>(numel(root.shape)) * dtype_size(root.dtype);
    return {reinterpret_cast<const char*>(address(plan_.schedule.kernels[i].root)), bytes};
}

std::string CpuExecutable::summary() const {
    const CpuPlanStats& s = stats_;
    return fmt::format("kernels/step:{} (loop {}, blas {}, scatter {}) arena:{:.1f}MiB compile:{:.2f}s ({} cached)",
                       s.launches(), s.loop_kernels, s.blas_calls, s.scatter_kernels, s.arena_bytes / 1048576.0,
                       s.compile_seconds, s.cache_hits);
}

namespace {

const char* step_label(const PlanStep& st) {
    if (st.kind == PlanStep::Kind::LinearCe) return "linear-ce";
    return st.kind == PlanStep::Kind::Gemm ? "blas" : st.kind == PlanStep::Kind::Attention ? "flash" : "loop";
}

// "k012 loop exp [4, 32]": the profile's name of a step.
std::string profile_name(const ExecPlan& p, size_t i) {
    const PlanStep& st = p.steps[i];
    if (st.kind == PlanStep::Kind::Copy || st.kind == PlanStep::Kind::Zero || st.kind == PlanStep::Kind::Collective)
        return st.name;
    NodeId root = p.schedule.kernels[i].root;
    return fmt::format("k{:03} {} {} {}", i, step_label(st),
                       op_name(p.graph[root].op), shape_str(p.graph[root].shape));
}

// "loop exp", "blas matmul", "copy updates": the profile's totals group steps by these.
std::string profile_kind(const ExecPlan& p, size_t i) {
    const PlanStep& st = p.steps[i];
    if (st.kind == PlanStep::Kind::Copy) return "copy updates";
    if (st.kind == PlanStep::Kind::Zero) return "zero updates";
    if (st.kind == PlanStep::Kind::Collective) return "all-reduce wait";
    return fmt::format("{} {}", step_label(st), op_name(p.graph[p.schedule.kernels[i].root].op));
}

}  // namespace

void CpuExecutable::check_output(size_t step) const {
    NodeId root = plan_.schedule.kernels[step].root;
    const Node& n = plan_.graph[root];
    check_kernel_output(profile_name(plan_, step), plan_.steps[step].name, reinterpret_cast<const void*>(address(root)),
                        n.dtype, n.shape);
}

std::vector<KernelTime> CpuExecutable::profile() const {
    std::vector<KernelTime> out;
    if (!profile_ || profiled_runs_ == 0) return out;
    for (size_t k = 0; k < steps_.size(); ++k)
        out.push_back({profile_name(plan_, k), profile_kind(plan_, k), step_seconds_[k] / profiled_runs_});
    return out;
}

std::string CpuExecutable::profile_report(int top) const {
    if (!profile_) return "";
    if (profiled_runs_ == 0) return "profile: run at least once\n";
    std::vector<size_t> order(steps_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return step_seconds_[a] > step_seconds_[b]; });
    double total = 0;
    for (double s : step_seconds_) total += s;
    std::string out = fmt::format("profile over {} runs: {:.3f} ms per run\n", profiled_runs_, 1e3 * total / profiled_runs_);
    std::map<std::string, std::pair<double, int>> by_kind;
    for (size_t k = 0; k < steps_.size(); ++k) {
        auto& [seconds, count] = by_kind[profile_kind(plan_, k)];
        seconds += step_seconds_[k];
        count += 1;
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
                           100.0 * step_seconds_[k] / std::max(total, 1e-12), profile_name(plan_, k));
    }
    return out;
}

}  // namespace pg
