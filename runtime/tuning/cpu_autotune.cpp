// The CPU autotuner (see cpu_autotune.h).
#include "runtime/tuning/cpu_autotune.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "base/error.h"
#include "base/thread_pool.h"
#include "codegen/compile_plan.h"
#include "codegen/llvm/loop_blocking.h"
#include "codegen/workload.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "runtime/cpu_executable.h"
#include "runtime/tuning/tuning_inputs.h"

namespace pg {
namespace {

// A candidate must beat the heuristic by 5% to replace it: repeated timings of one kernel on a
// shared machine spread by a few percent, and a decision made on noise only churns the database.
constexpr double kMinGain = 0.05;
constexpr double kInf = std::numeric_limits<double>::infinity();

// An f32 buffer's bytes as a tensor.
HostTensor as_tensor(std::string_view bytes, const Shape& shape) {
    HostTensor t(DType::f32, shape);
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(t.data()));
    return t;
}

// A matmul's operand shapes and layouts (t: a transposed view of a contiguous tensor, as
// matmul_workload says), which is what its generated loop kernel's speed depends on.
struct MatmulShape {
    Shape a, b;
    bool trans_a = false, trans_b = false;
};

// Leaf `name` of shape `s`, or the transposed view of a leaf of the swapped shape.
NodeId operand(Graph& g, const char* name, Shape s, bool transposed) {
    if (!transposed) return build::param(g, name, s);
    const int64_t r = static_cast<int64_t>(s.size());
    std::swap(s[r - 2], s[r - 1]);
    return build::transpose(g, build::param(g, name, s), r - 2, r - 1);
}

// The matmul alone on operands of its layout, compiled as an OpenBLAS call (`library`) or as a
// generated loop kernel, with its operands filled.
struct MatmulCandidate {
    Graph graph;
    NodeId product = kNoNode;
    std::unique_ptr<Session> session;
    std::unique_ptr<CpuExecutable> exe;

    MatmulCandidate(const MatmulShape& m, bool library) {
        product = build::matmul(graph, operand(graph, "a", m.a, m.trans_a), operand(graph, "b", m.b, m.trans_b));
        graph.set_output("c", product);
        Target t = cpu_target();
        t.gemm_min_flops = library ? 1 : 0;
        session = open_session("cpu");
        exe = std::make_unique<CpuExecutable>(*session, graph, t);
        fill_tuning_inputs(*exe);
    }

    // Normwise error of an f32 dot product of length k against fp64 stays far below k ulps;
    // 1e-6 * k (about 16 ulps per 1000 terms) never fails by rounding and catches any wrong element.
    bool matches_reference() const {
        HostTensor ref = interpret(graph, {{"a", exe->get("a")}, {"b", exe->get("b")}}, {product})[0];
        return max_rel_error(exe->get("c"), ref) <= 1e-6 * static_cast<double>(graph[graph[product].inputs[0]].shape.back());
    }
};

// Microseconds per run of the matmul as {library, generated}; +infinity for a candidate that
// fails to compile (pruned before timing), to run, or to match the reference.
std::array<double, 2> time_matmul(const MatmulShape& m, const TimingOptions& timing) {
    std::vector<std::unique_ptr<MatmulCandidate>> built;
    std::vector<std::function<void()>> runs;
    for (bool library : {true, false}) {
        try {
            built.push_back(std::make_unique<MatmulCandidate>(m, library));
            runs.push_back([exe = built.back()->exe.get()] { exe->run(); });
        } catch (const std::exception&) {
            built.push_back(nullptr);
            runs.push_back([] { throw Error("did not compile"); });
        }
    }
    std::vector<double> s = time_candidates(runs, timing);
    std::array<double, 2> us{};
    for (size_t c = 0; c < 2; ++c) us[c] = built[c] && built[c]->matches_reference() ? 1e6 * s[c] : kInf;
    return us;
}

std::vector<KernelConfig> step_candidates(const PlanStep& st) {
    const int threads = ThreadPool::global().num_threads();
    std::vector<KernelConfig> out;
    if (st.kind == PlanStep::Kind::Kernel) {
        if (st.kir->parallel_extent() <= 1 || threads <= 1) return out;
        out = {CpuLoopConfig{0}, CpuLoopConfig{1}};
        for (int t = 2; t < threads; t *= 2) out.push_back(CpuLoopConfig{t});
        return out;
    }
    int64_t max_blocks = std::min<int64_t>(2 * threads, std::max<int64_t>(1, st.gemm->m / 16));
    out = {CpuGemmConfig{0}};
    for (int b = 1; b <= max_blocks; b *= 2) out.push_back(CpuGemmConfig{b});
    return out;
}

// The second round of a loop step: `base` (the thread split's winner) and its loop blockings,
// each keeping base's thread split; empty when the kernel has none. The rounds are coordinate
// descent (threads x blockings would be 3 x 5 candidates, each blocking a JIT compile).
std::vector<KernelConfig> blocking_round(const PlanStep& st, const CpuLoopConfig& base) {
    if (st.kind != PlanStep::Kind::Kernel) return {};
    std::vector<KernelConfig> out{base};
    for (CpuLoopConfig c : blocking_candidates(*st.kir, ThreadPool::global().num_threads())) {
        c.threads = base.threads;
        out.push_back(c);
    }
    return out.size() > 1 ? out : std::vector<KernelConfig>{};
}

// Step i's output after running it with `config`, as bytes.
std::string output_with(CpuExecutable& exe, size_t i, const KernelConfig& config) {
    exe.run_step(i, config);
    return std::string(exe.step_output(i));
}

// Whether `candidate` computes what the heuristic computed: bit for bit for loop kernels (a
// thread split changes which thread computes an element, never how); for OpenBLAS row blocks
// within 1e-6 normwise, as a different blocking may take a different micro-kernel for edge rows.
bool same_result(const PlanStep& st, const std::string& heuristic, const std::string& candidate, const Shape& shape) {
    if (st.kind == PlanStep::Kind::Kernel) return heuristic == candidate;
    return max_rel_error(as_tensor(candidate, shape), as_tensor(heuristic, shape)) <= 1e-6;
}

// The placement of a matmul: the other side of the heuristic's threshold wins only by kMinGain.
// An empty decision: neither candidate ran.
WorkloadResult decide_matmul(const std::string& workload, const MatmulShape& m, bool heuristic,
                             const TimingOptions& timing) {
    auto [library_us, generated_us] = time_matmul(m, timing);
    WorkloadResult res{workload, "", heuristic ? library_us : generated_us, 0, 2, 0, false};
    res.failed = std::isinf(library_us) + std::isinf(generated_us);
    if (res.failed == 2) return res;
    double other_us = heuristic ? generated_us : library_us;
    bool switch_over = other_us < (1 - kMinGain) * res.default_us;
    res.tuned_us = switch_over ? other_us : res.default_us;
    res.decision = (switch_over ? !heuristic : heuristic) ? "library" : "generated";
    return res;
}

// Times every candidate of step i (candidates[0] is the heuristic), checks the fastest against
// the heuristic's output and leaves the winner's output in the step's buffer for its consumers.
WorkloadResult decide_step(CpuExecutable& exe, size_t i, const std::vector<KernelConfig>& candidates,
                           const TimingOptions& timing, KernelConfig& winner) {
    const PlanStep& st = exe.plan().steps[i];
    std::string reference = output_with(exe, i, candidates[0]);
    WorkloadResult res{st.workload, "", kInf, kInf, static_cast<int>(candidates.size()), 0, false};
    std::vector<std::function<void()>> runs;
    for (const KernelConfig& c : candidates) runs.push_back([&exe, i, &c] { exe.run_step(i, c); });
    std::vector<double> seconds = time_candidates(runs, timing);
    size_t best = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
        double us = 1e6 * seconds[c];
        if (c == 0) res.default_us = us;
        res.failed += std::isinf(us);
        if (us < res.tuned_us) {
            res.tuned_us = us;
            best = c;
        }
    }
    if (best != 0 && !(res.tuned_us < (1 - kMinGain) * res.default_us)) best = 0;
    const Shape& shape = exe.plan().graph[exe.plan().schedule.kernels[i].root].shape;
    if (best != 0 && !same_result(st, reference, output_with(exe, i, candidates[best]), shape)) {
        ++res.failed;
        best = 0;
    }
    if (best == 0) res.tuned_us = res.default_us;
    exe.run_step(i, candidates[best]);
    winner = candidates[best];
    res.decision = config_string(winner);
    return res;
}

}  // namespace

CpuAutotuner::CpuAutotuner(TuningDb& db, DeviceIdentity device, AutotuneOptions options)
    : db_(db), device_(std::move(device)), options_(std::move(options)) {}

void CpuAutotuner::report(WorkloadResult r) {
    // A workload decided earlier in this run (another graph shares it) is neither new nor reused.
    if (r.reused && decided_.count(r.workload)) return;
    decided_.insert(r.workload);
    if (options_.progress) options_.progress(r);
    results_.push_back(std::move(r));
}

void CpuAutotuner::tune(const Graph& g) {
    Target t = cpu_target();
    if (t.gemm_min_flops > 0) tune_matmuls(compile_plan(g, t).graph);
    tune_steps(g);
}

void CpuAutotuner::tune_matmuls(const Graph& primitive) {
    std::vector<bool> live = live_nodes(primitive);
    std::set<std::string> seen;
    for (NodeId i = 0; i < primitive.size(); ++i) {
        const Node& n = primitive[i];
        if (!live[i] || n.op != Op::Matmul || n.dtype != DType::f32) continue;
        std::string workload = matmul_workload(primitive, i);
        if (!seen.insert(workload).second) continue;
        if (const MatmulRecord* r = db_.find_matmul(device_, workload); r && !options_.retune) {
            report({workload, r->library ? "library" : "generated", r->default_us, r->tuned_us, 0, 0, true});
            continue;
        }
        const size_t r = n.shape.size();
        const Shape& sa = primitive[n.inputs[0]].shape;
        const bool heuristic = n.shape[r - 2] * n.shape[r - 1] * sa.back() >= cpu_target().gemm_min_flops;
        MatmulShape m{sa, primitive[n.inputs[1]].shape, is_transposed_view(primitive, n.inputs[0]),
                      is_transposed_view(primitive, n.inputs[1])};
        WorkloadResult res = decide_matmul(workload, m, heuristic, options_.timing);
        if (!res.decision.empty())
            db_.set_matmul(device_, workload, {res.decision == "library", res.default_us, res.tuned_us});
        report(res);
    }
}

// Tunes step i: its thread split (or row blocks), then for a loop kernel its blocking with the
// split's winner. The record's default is the heuristic's time, its tuned time the final winner's.
WorkloadResult CpuAutotuner::tune_step(CpuExecutable& exe, size_t i, KernelConfig& winner) {
    const PlanStep& st = exe.plan().steps[i];
    std::vector<KernelConfig> first = step_candidates(st);
    winner = st.kind == PlanStep::Kind::Kernel ? KernelConfig{CpuLoopConfig{}} : KernelConfig{CpuGemmConfig{}};
    std::optional<WorkloadResult> res;
    if (!first.empty()) res = decide_step(exe, i, first, options_.timing, winner);
    const auto* split = std::get_if<CpuLoopConfig>(&winner);
    std::vector<KernelConfig> second = blocking_round(st, split ? *split : CpuLoopConfig{});
    if (second.empty()) return *res;
    for (const KernelConfig& c : second) {
        try {
            exe.prepare_step(i, c);
        } catch (const std::exception&) {
            // run_step throws the same again while it is timed: the candidate counts as failed
        }
    }
    WorkloadResult blocked = decide_step(exe, i, second, options_.timing, winner);
    if (!res) return blocked;
    res->decision = blocked.decision;
    // The rounds are timed minutes apart under a changing load: the second round's gain over its
    // own base, applied to the first round's winner, not the raw times of two rounds.
    if (std::isfinite(blocked.default_us) && blocked.default_us > 0) res->tuned_us *= blocked.tuned_us / blocked.default_us;
    res->candidates += blocked.candidates - 1;
    res->failed += blocked.failed;
    return *res;
}

void CpuAutotuner::tune_steps(const Graph& g) {
    Target t = cpu_target();
    t.tuned = db_.decisions(device_);
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, g, t);
    fill_tuning_inputs(exe);
    std::set<std::string> seen;
    for (size_t i = 0; i < exe.plan().steps.size(); ++i) {
        const PlanStep& st = exe.plan().steps[i];
        if (st.kind != PlanStep::Kind::Kernel && st.kind != PlanStep::Kind::Gemm) continue;
        const bool tunable = !step_candidates(st).empty() || !blocking_round(st, {}).empty();
        const bool first = seen.insert(st.workload).second;
        const KernelRecord* known = options_.retune ? nullptr : db_.find_kernel(device_, st.workload);
        if (!tunable || !first || known) {
            if (first && known && tunable)
                report({st.workload, config_string(known->config), known->default_us, known->tuned_us, 0, 0, true});
            exe.run_step(i, {});  // its consumers need its output
            continue;
        }
        KernelConfig winner;
        WorkloadResult res = tune_step(exe, i, winner);
        db_.set_kernel(device_, st.workload, {winner, res.default_us, res.tuned_us});
        report(res);
    }
}

}  // namespace pg
