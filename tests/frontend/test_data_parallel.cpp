// Data-parallel training end to end on the tiny setup (tests/support/tiny_run.h), as separate
// processes of the real binary: one process with the global batch of 8 micro-batches, the same
// run as `mpirun -np 2 pgolf train` (2 ranks x 4 micro-batches; the default parallel Muon:
// matrix gradients reduce-scattered by bank, Newton-Schulz on each rank's share, updates
// all-gathered, the other gradients all-reduced by the MPI engine) and as `pgolf launch --nproc 2
// -- train` with PG_MUON_SHARDING=baseline (gradients all-reduced, Muon's matrices dealt
// round-robin and their new values broadcast), and the sliding-window evaluation of its
// checkpoint on 1 and on 2 ranks. Also the errors that replace hangs: a world size that does not
// divide 8, a rank whose settings differ, torchrun's variables on the CPU backend, a bad launch.
//
// Tolerances. The ranks see exactly the sequences of the one-process run (the baseline's slicing
// gives rank r the micro-batches r, r+2, ...), so the runs differ only in the order f32 gradients
// are summed (((g0+g1)+g2)... on one process, (g0+g2+g4+g6) + (g1+g3+g5+g7) across ranks): a few
// ulp (~1e-7 relative) per step, which 12 steps of training carry into the weights. Measured on
// the 2-core CI machine (round-robin Muon): 1.8e-7 on the loss, 5.5e-6 on the largest weight
// difference. The bounds, 1e-5 and 1e-4, leave 20-50x for other BLAS builds and still catch a
// wrong average (a doubled gradient, a rank's half missing), which moves the loss by more than
// 1e-2 within these steps. Parallel Muon computes each matrix's momentum, Newton-Schulz and update
// with the same operations as one process (its bf16 update all-gathered exactly), so the same
// bounds hold for it. Only the weights are compared: parallel Muon's ranks hold the momentum as
// shards. The evaluation's per-window losses are the same computation on either side and its sums
// are fp64, so the two val_bpb agree to 1e-7 relative.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "base/env.h"
#include "frontend/export/checkpoint.h"
#include "frontend/report/run_metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/skip.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

// Every setting that differs from its default, as --NAME=value flags: the tiny run's settings for
// a child process (overrides live in this process only).
std::string settings_flags() {
    std::string out;
    for (const env::Knob* k : env::all())
        if (std::string v = env::get(k->name); v != k->default_value) out += fmt::format(" '--{}={}'", k->name, v);
    return out;
}

std::vector<double> train_losses(const std::filesystem::path& run_dir) {
    std::vector<double> out;
    for (const auto& p : report::load_run(run_dir).train) out.push_back(p.train_loss);
    return out;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

// The largest difference of any weight between two checkpoints (same names and shapes).
double max_weight_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
    io::Checkpoint ca = io::load_checkpoint(a), cb = io::load_checkpoint(b);
    double m = 0;
    for (const auto& [name, ta] : ca.tensors) {
        if (name.ends_with(".momentum_buffer") || name.starts_with("muon_bank.")) continue;  // optimizer state
        INFO(name);
        REQUIRE(cb.tensors.count(name) == 1);
        const HostTensor& tb = cb.tensors.at(name);
        REQUIRE(ta.bytes.size() == tb.bytes.size());
        for (int64_t i = 0; i < numel(ta.shape); ++i) m = std::max(m, std::abs(ta.get(i) - tb.get(i)));
    }
    return m;
}

double sliding_bpb(const std::string& output) {
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(output, m, std::regex(R"(sliding val_loss:\S+ val_bpb:(\S+))")),
                    output);
    return std::stod(m[1]);
}

}  // namespace

TEST_CASE("frontend: mpirun -np 2 and pgolf launch --nproc 2 train as one process does; evaluation splits exactly") {
    if (std::string why = testing::mpi_unavailable_reason(); !why.empty()) PG_SKIP(why);
    TinyRun run("data_parallel");
    env::ScopedOverride log_every("TRAIN_LOG_EVERY", "1");
    const std::string pgolf = PG_BINARY;
    const std::string flags = settings_flags() + " --PG_THREADS=1";
    auto train = [&](const std::string& head, const std::string& name, const std::string& extra = "") {
        testing::CommandResult r = testing::run_command(
            fmt::format("{} train{}{} --RUN_DIR={}", head, flags, extra, (run.dir / name).string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        return r.output;
    };
    train(pgolf, "one");
    std::string two = train(testing::mpirun_prefix(2) + pgolf, "two");
    CHECK(two.find("data parallel: 2 ranks, mpi, parallel Muon") != std::string::npos);
    CHECK(two.find("weights identical on all 2 ranks") != std::string::npos);
    std::string launched = train(pgolf + " launch --nproc 2 --", "launch", " --PG_MUON_SHARDING=baseline");
    CHECK(launched.find("Muon's matrices dealt round-robin") != std::string::npos);
    CHECK(launched.find("weights identical on all 2 ranks") != std::string::npos);

    std::vector<double> one = train_losses(run.dir / "one");
    REQUIRE(one.size() == 12);
    for (const char* other : {"two", "launch"}) {
        std::vector<double> l = train_losses(run.dir / other);
        REQUIRE(l.size() == one.size());
        MESSAGE(fmt::format("{}: max |loss difference| {:.3g} over {} steps; max |weight difference| {:.3g}", other,
                            max_abs_difference(one, l), l.size(),
                            max_weight_difference(run.dir / "one" / "final_model.ckpt", run.dir / other / "final_model.ckpt")));
        CHECK(max_abs_difference(one, l) < 1e-5);
        CHECK(max_weight_difference(run.dir / "one" / "final_model.ckpt", run.dir / other / "final_model.ckpt") < 1e-4);
    }
    CHECK(one.back() < one.front() - 0.5);  // it trained: the comparison is not of two flat curves

    // The methods split across ranks (the others run whole on every rank: --methods all would
    // spend minutes on LoRA test-time training and compare nothing more).
    const std::string eval = fmt::format("{} eval --model={}{} --EVAL_STRIDE=8 --methods baseline,sliding", pgolf,
                                         (run.dir / "one" / "final_model.ckpt").string(), flags);
    testing::CommandResult e1 = testing::run_command(eval);
    testing::CommandResult e2 = testing::run_command(testing::mpirun_prefix(2) + eval);
    INFO(e1.output, e2.output);
    REQUIRE(e1.status == 0);
    REQUIRE(e2.status == 0);
    CHECK(sliding_bpb(e2.output) == doctest::Approx(sliding_bpb(e1.output)).epsilon(1e-7));
}

TEST_CASE("frontend: a distributed run fails with a clear error instead of hanging") {
    if (std::string why = testing::mpi_unavailable_reason(); !why.empty()) PG_SKIP(why);
    TinyRun run("data_parallel_errors");
    const std::string pgolf = PG_BINARY;
    const std::string flags = settings_flags() + " --PG_THREADS=1 --ITERATIONS=2";
    // WORLD_SIZE must divide 8 (grad_accum = 8 / WORLD_SIZE).
    testing::CommandResult three = testing::run_command(
        fmt::format("timeout 120 {}{} train{} --RUN_DIR={}", testing::mpirun_prefix(3), pgolf, flags,
                    (run.dir / "three").string()));
    CHECK(three.status != 0);
    CHECK(three.output.find("WORLD_SIZE=3 must divide 8") != std::string::npos);
    // Rank 1 with another model: every rank stops at the settings check.
    const std::string base = fmt::format("{} train{} --RUN_DIR={}", pgolf, flags, (run.dir / "differ").string());
    std::string prefix = testing::mpirun_prefix(1);
    testing::CommandResult differ = testing::run_command(
        fmt::format("timeout 120 {}{} : -np 1 {} --NUM_LAYERS=3", prefix, base, base));
    INFO(differ.output);
    CHECK(differ.status != 0);
    CHECK(differ.output.find("settings of rank(s) 1 differ from rank 0's") != std::string::npos);
    // torchrun's variables on the CPU backend: its engine is MPI, whose launcher is mpirun.
    testing::CommandResult torchrun = testing::run_command(fmt::format(
        "env RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29999 timeout 60 {}", base));
    CHECK(torchrun.status != 0);
    CHECK(torchrun.output.find("whose collectives are MPI's") != std::string::npos);
    CHECK(testing::run_command(pgolf + " launch --nproc 0 -- train").output.find("--nproc N with N >= 1") !=
          std::string::npos);
}

}  // namespace pg
