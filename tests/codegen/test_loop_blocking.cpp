// CPU loop blocking (codegen/llvm/loop_blocking.h): every blocking of every blockable kernel of
// the op table and of generated matmuls / reductions computes bit for bit what the unblocked
// kernel computes and what the interpreter computes; a blocking changes the kernel key but not the
// workload; the tuner's candidates exist only where a load is reused across rows; a blocking that
// does not fit the kernel is a user error.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "codegen/kernel_key.h"
#include "codegen/llvm/loop_blocking.h"
#include "graph/build.h"
#include "runtime/cpu_executable.h"
#include "runtime/cpu_jit.h"
#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"

namespace pg {
namespace {
namespace b = build;

// A matmul and a batched one left to generated loops, a sum over the outer axis, and a
// transposed read.
Graph blocking_graph() {
    Graph g;
    NodeId x = b::param(g, "x", {48, 64});
    NodeId w = b::param(g, "w", {64, 160});  // 40 KiB: more than the L1 holds
    g.set_output("y", b::matmul(g, x, w));
    NodeId xb = b::param(g, "xb", {2, 24, 64});
    g.set_output("yb", b::matmul(g, xb, b::broadcast_to(g, w, {2, 64, 160})));
    g.set_output("colsum", b::sum(g, b::param(g, "z", {40, 36}), {0}));
    g.set_output("t", b::mul(g, b::transpose(g, b::param(g, "m", {32, 48}), 0, 1), 2.0));
    return g;
}

// The largest divisor of n that is at most `want`.
int divisor_up_to(int64_t n, int64_t want) {
    for (int64_t d = std::min(n, want); d > 1; --d)
        if (n % d == 0) return static_cast<int>(d);
    return 1;
}

struct Scheme {
    int64_t rows, inner;  // wanted; each kernel gets the largest divisors at most these
};

// Decisions blocking every blockable kernel of g's plan (compiled with `base`) by `scheme`.
std::shared_ptr<TunedDecisions> blocking_decisions(const ExecPlan& plan, Scheme scheme) {
    auto tuned = std::make_shared<TunedDecisions>();
    for (const PlanStep& st : plan.steps) {
        if (st.kind != PlanStep::Kind::Kernel) continue;
        std::optional<BlockableNest> nest = blockable_nest(*st.kir);
        if (!nest) continue;
        tuned->kernels[st.workload] =
            CpuLoopConfig{0, divisor_up_to(nest->rows, scheme.rows), divisor_up_to(nest->inner, scheme.inner)};
    }
    return tuned;
}

std::vector<HostTensor> run_all(const Graph& g, const Feeds& feeds, const Target& t, int* blocked = nullptr) {
    std::unique_ptr<Session> s = open_session("cpu");
    CpuExecutable exe(*s, g, t);
    for (const auto& [name, value] : feeds) exe.set(name, value);
    exe.run();
    if (blocked) *blocked = static_cast<int>(std::count_if(exe.plan().steps.begin(), exe.plan().steps.end(),
                                                           [](const PlanStep& st) { return st.tuned; }));
    std::vector<HostTensor> out;
    for (const Output& o : g.outputs()) out.push_back(exe.get(o.name));
    return out;
}

bool same_bits(const HostTensor& a, const HostTensor& b) {
    return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes;
}

// Every scheme against the unblocked plan (bit for bit) and the interpreter (`tol`).
void check_blockings(const Graph& g, double tol) {
    Feeds feeds = testing::random_feeds(g, 11);
    std::vector<HostTensor> expected = interpret_all(g, feeds);
    Target base = cpu_target();
    base.gemm_min_flops = 0;  // matmuls as generated loops: the kernels blocking is for
    std::vector<HostTensor> unblocked = run_all(g, feeds, base);
    ExecPlan plan = compile_plan(g, base);
    for (Scheme scheme : {Scheme{2, 2}, Scheme{4, 1}, Scheme{3, 5}, Scheme{16, 32}, Scheme{1, 3}, Scheme{1 << 20, 1}}) {
        Target t = base;
        t.tuned = blocking_decisions(plan, scheme);
        int blocked = 0;
        std::vector<HostTensor> got = run_all(g, feeds, t, &blocked);
        INFO("scheme rows<=", scheme.rows, " inner<=", scheme.inner, ", ", blocked, " kernels blocked");
        CHECK(blocked > 0);
        for (size_t i = 0; i < got.size(); ++i) {
            INFO("output ", g.outputs()[i].name);
            CHECK(same_bits(got[i], unblocked[i]));
            CHECK(testing::floored_error(got[i], expected[i], 1.0) <= tol);
        }
    }
}

}  // namespace

TEST_CASE("loop blocking: every blocking of the op table computes the unblocked bits and the interpreter's values") {
    // The loosest tolerance of the table's cases (each states its reason in op_cases.cpp).
    double tol = 0;
    for (const testing::OpCase& c : testing::op_table()) tol = std::max(tol, c.tol);
    check_blockings(testing::merged_op_table(), tol);
}

TEST_CASE("loop blocking: generated matmuls, outer reductions and transposed reads stay exact") {
    // f32 against fp64 over 64-term dot products and 40-term sums: 1e-5 is ~100 ulps.
    check_blockings(blocking_graph(), 1e-5);
}

TEST_CASE("loop blocking: the kernel key changes with the blocking, the workload does not") {
    Graph g = blocking_graph();
    Target t = cpu_target();
    t.gemm_min_flops = 0;
    ExecPlan plan = compile_plan(g, t);
    const PlanStep* mm = nullptr;
    for (const PlanStep& st : plan.steps)
        if (st.kind == PlanStep::Kind::Kernel && st.workload.rfind("loop matmul f32 [48,160]", 0) == 0) mm = &st;
    REQUIRE(mm != nullptr);
    std::optional<BlockableNest> nest = blockable_nest(*mm->kir);
    REQUIRE(nest);
    CHECK(nest->rows == 48);   // output rows
    CHECK(nest->inner == 64);  // the k loop
    CHECK(nest->reuse_bytes == 64 * 160 * 4);  // w is read by every row
    auto key = [&](const CpuLoopConfig& c) {
        return make_kernel_key(kir::to_string(blocked_kernel(*mm->kir, c)), "llvm", CpuProgram::target_string({}), "",
                               "", "").digest();
    };
    std::set<std::string> keys{key({}), key({0, 4, 0}), key({0, 4, 32}), key({0, 16, 32}), key({0, 1, 16})};
    CHECK(keys.size() == 5);
    CHECK(key({}) == key({0, 1, 64}));     // one-row blocks of the whole loop: no blocking
    CHECK(key({}) == key({2, 0, 0}));      // the thread split is not in the binary
    CHECK(blocked_kernel(*mm->kir, {0, 4, 32}).parallel_extent() == 12);

    std::vector<CpuLoopConfig> candidates = blocking_candidates(*mm->kir, 2);
    CHECK(candidates.size() == 2);  // rows 4 and 16 x inner 32 (128 is not below 64)
    CHECK(config_string(candidates[0]) == "rows=4 inner=32");

    auto tuned = std::make_shared<TunedDecisions>();
    tuned->kernels[mm->workload] = CpuLoopConfig{0, 4, 32};
    t.tuned = tuned;
    ExecPlan blocked = compile_plan(g, t);
    bool found = false;
    for (const PlanStep& st : blocked.steps)
        if (st.workload == mm->workload) found = st.tuned && config_string(st.config) == "rows=4 inner=32";
    CHECK(found);
}

TEST_CASE("loop blocking: no candidates without reuse across rows beyond the L1; a blocking that does not fit is an error") {
    Graph g;
    g.set_output("out", b::unary(g, Op::Exp, b::param(g, "x", {64, 256})));
    ExecPlan plan = compile_plan(g, cpu_target());
    const kir::Kernel& k = *plan.steps.at(0).kir;
    std::optional<BlockableNest> nest = blockable_nest(k);
    REQUIRE(nest);
    CHECK(nest->reuse_bytes == 0);  // every load is indexed by the row
    CHECK(blocking_candidates(k, 2).empty());

    Graph scaled;  // x * w with w [256] broadcast over the rows: 1 KiB reused, L1-resident anyway
    scaled.set_output("out", b::mul(scaled, b::param(scaled, "x", {64, 256}), b::param(scaled, "w", {256})));
    ExecPlan scaled_plan = compile_plan(scaled, cpu_target());
    const kir::Kernel& ks = *scaled_plan.steps.at(0).kir;
    REQUIRE(blockable_nest(ks));
    CHECK(blockable_nest(ks)->reuse_bytes == 1024);
    CHECK(blocking_candidates(ks, 2).empty());
    CHECK_THROWS_AS(blocked_kernel(k, {0, 5, 0}), Error);   // 5 does not divide 64 rows
    CHECK_THROWS_AS(blocked_kernel(k, {0, 1, 100}), Error);  // nor 100 the 256 columns
}

}  // namespace pg
