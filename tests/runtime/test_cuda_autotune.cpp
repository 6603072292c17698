// The GPU autotuner's decisions without a GPU: a fake runner (fixed times per configuration, some
// throwing, some computing a wrong output) and a fake pruning stand in for the device and NVRTC.
// Pruned candidates are never timed, the heuristic always is, the fastest kept candidate wins
// only by 5%, a failing or timed-out one is infinitely slow, every timed run asks for the L2
// flush, a winner whose output differs from the heuristic's keeps the heuristic, decisions land
// in the database under the device and are reused on a second run.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "runtime/tuning/cuda_autotune.h"

namespace pg {
namespace {
namespace b = build;

DeviceIdentity fake_gpu() { return {"cuda fake GPU / 132 SMs", {{"name", "fake"}}}; }

Graph gemm_graph() {
    Graph g;
    g.set_output("out", b::matmul(g, b::param(g, "x", {128, 64}), b::param(g, "w", {64, 128})));
    return g;
}

// The device: milliseconds by configuration text (default 1), configurations that throw or that
// compute a different output; records what it timed.
struct FakeDevice {
    std::map<std::string, double> ms;
    std::set<std::string> throws, wrong;
    std::vector<std::string> timed;
    int flushes = 0, runs = 0;
};

class FakeRunner final : public CudaCandidateRunner {
public:
    FakeRunner(const Graph& g, Target t, FakeDevice& d) : device_(d) {
        t.gemm_min_flops = 1;  // the matmul as a GEMM step
        plan_ = compile_plan(g, t);
    }
    const ExecPlan& plan() const override { return plan_; }
    void run(size_t i, const KernelConfig& config) override {
        std::string c = config_string(std::holds_alternative<std::monostate>(config) ? plan_.steps[i].config : config);
        ++device_.runs;
        if (device_.throws.count(c)) throw Error("launch failed");
        last_ = c;
    }
    double timed_run_ms(size_t i, const KernelConfig& config, bool flush) override {
        run(i, config);
        device_.flushes += flush;
        device_.timed.push_back(last_);
        auto it = device_.ms.find(last_);
        return it == device_.ms.end() ? 1.0 : it->second;
    }
    HostTensor output(size_t) override {
        HostTensor t(DType::f32, {4});
        for (int64_t k = 0; k < 4; ++k) t.set(k, device_.wrong.count(last_) ? 1.5 : 1.0);
        return t;
    }

private:
    ExecPlan plan_;
    FakeDevice& device_;
    std::string last_;
};

const std::string kFast = "simt 128x128x16 w2x4 s2", kFastest = "simt 128x64x16 w2x4 s2",
                  kPruned = "simt 64x128x8 w2x4 s1";

CudaAutotuneOptions fake_options(FakeDevice& d) {
    CudaAutotuneOptions o;
    o.base.timing = {.warmup = 1, .reps = 3, .timeout_s = 2, .flush = true};
    o.arch = "sm_90a";
    // Everything with one stage is pruned (as if its registers were over the limit).
    o.prune = [](const PlanStep&, const std::vector<KernelConfig>& space) {
        std::vector<CudaCandidate> out;
        for (const KernelConfig& c : space) {
            bool kept = std::get<gemm::GemmConfig>(c).stages != 1;
            out.push_back({c, kept, kept ? "kept" : "registers 255 x 256 threads"});
        }
        return out;
    };
    o.make_runner = [&d](const Graph& g, const Target& t) { return std::make_unique<FakeRunner>(g, t, d); };
    return o;
}

const KernelRecord& only_record(const TuningDb& db, const CudaAutotuner& tuner) {
    REQUIRE(tuner.results().size() == 1);
    const KernelRecord* r = db.find_kernel(fake_gpu(), tuner.results()[0].workload);
    REQUIRE(r != nullptr);
    return *r;
}


// The heuristic's configuration of the GEMM step, and the number of one-stage (pruned) candidates.
std::string heuristic_of(FakeDevice& d, int* one_stage = nullptr) {
    FakeRunner runner(gemm_graph(), cuda_target("sm_90a"), d);
    const PlanStep& st = runner.plan().steps.at(0);
    REQUIRE(st.kind == PlanStep::Kind::Gemm);
    if (one_stage) {
        *one_stage = 0;
        for (const KernelConfig& c : cuda_search_space(st)) *one_stage += std::get<gemm::GemmConfig>(c).stages == 1;
    }
    return config_string(st.config);
}

}  // namespace

TEST_CASE("cuda tuner: pruned candidates are never timed, failures never win, the fastest kept one does") {
    FakeDevice d;
    int one_stage = 0;
    const std::string heuristic = heuristic_of(d, &one_stage);
    REQUIRE(heuristic != kFast);
    d.ms = {{kFast, 0.5}, {kFastest, 0.2}, {kPruned, 0.01}};
    d.throws = {kFastest};
    TuningDb db;
    CudaAutotuner tuner(db, fake_gpu(), fake_options(d));
    tuner.tune(gemm_graph());
    const WorkloadResult& r = tuner.results().at(0);
    CHECK(r.decision == kFast);
    CHECK(r.default_us == doctest::Approx(1000));
    CHECK(r.tuned_us == doctest::Approx(500));
    CHECK(config_string(only_record(db, tuner).config) == kFast);
    std::set<std::string> timed(d.timed.begin(), d.timed.end());
    CHECK(timed.count(heuristic) == 1);
    CHECK(timed.count(kPruned) == 0);
    CHECK(timed.count(kFastest) == 0);  // it threw in the warm-up
    for (const std::string& c : timed) CHECK(c.find(" s1") == std::string::npos);  // one-stage ones were pruned
    CHECK(d.flushes == static_cast<int>(d.timed.size()));
    CHECK(r.failed == one_stage + 1);  // the pruned and the throwing one
}

TEST_CASE("cuda tuner: a wrong output, a gain under 5% and a timeout keep the heuristic") {
    FakeDevice d;
    int one_stage = 0;
    const std::string heuristic = heuristic_of(d, &one_stage);
    TuningDb db;
    SUBCASE("wrong output") {
        d.ms = {{kFast, 0.5}};
        d.wrong = {kFast};
        CudaAutotuner tuner(db, fake_gpu(), fake_options(d));
        tuner.tune(gemm_graph());
        CHECK(tuner.results().at(0).decision == heuristic);
        CHECK(tuner.results().at(0).failed == one_stage + 1);  // the pruned, the wrong winner
        CHECK(config_string(only_record(db, tuner).config) == heuristic);
    }
    SUBCASE("gain under 5%") {
        d.ms = {{kFast, 0.97}};
        CudaAutotuner tuner(db, fake_gpu(), fake_options(d));
        tuner.tune(gemm_graph());
        CHECK(tuner.results().at(0).decision == heuristic);
    }
    SUBCASE("timeout: infinitely slow") {
        d.ms = {{kFast, 5000}, {kFastest, 0.9}};  // 5 s is past the 2 s timeout
        CudaAutotuner tuner(db, fake_gpu(), fake_options(d));
        tuner.tune(gemm_graph());
        CHECK(tuner.results().at(0).decision == kFastest);
        FakeRunner runner(gemm_graph(), cuda_target("sm_90a"), d);
        KernelConfig fast = gemm::GemmConfig{gemm::GemmKind::Simt, 128, 128, 16, 2, 4, 2};
        REQUIRE(config_string(fast) == kFast);
        std::vector<double> ms = time_cuda_candidates(runner, 0, {runner.plan().steps[0].config, fast},
                                                      {.warmup = 0, .reps = 1, .timeout_s = 2, .flush = false});
        CHECK(ms[0] == doctest::Approx(1.0));
        CHECK(std::isinf(ms[1]));
    }
}

TEST_CASE("cuda tuner: a second run reuses the database without timing") {
    FakeDevice d;
    d.ms = {{kFast, 0.5}};
    TuningDb db;
    CudaAutotuner(db, fake_gpu(), fake_options(d)).tune(gemm_graph());
    d.timed.clear();
    CudaAutotuner second(db, fake_gpu(), fake_options(d));
    second.tune(gemm_graph());
    REQUIRE(second.results().size() == 1);
    CHECK(second.results()[0].reused);
    CHECK(second.results()[0].decision == kFast);
    CHECK(d.timed.empty());
}

TEST_CASE("cuda tuner: outputs match the heuristic's within 1e-5 for f32 and 1e-2 for bf16") {
    HostTensor a = HostTensor::from_doubles(DType::f32, {2}, {1.0, 2.0});
    CHECK(cuda_output_matches(HostTensor::from_doubles(DType::f32, {2}, {1.0, 2.0 + 1e-6}), a));
    CHECK_FALSE(cuda_output_matches(HostTensor::from_doubles(DType::f32, {2}, {1.0, 2.001}), a));
    HostTensor h = HostTensor::from_doubles(DType::bf16, {2}, {1.0, 2.0});
    CHECK(cuda_output_matches(HostTensor::from_doubles(DType::bf16, {2}, {1.0, 2.0078125}), h));  // one bf16 ulp at 2
    CHECK_FALSE(cuda_output_matches(HostTensor::from_doubles(DType::bf16, {2}, {1.0, 2.25}), h));
}

}  // namespace pg
