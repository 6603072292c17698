// Runs a person can follow and compare, end to end on tiny trainings: SEEDS runs one configuration
// per seed into RUN_DIR/seed<N>; every run's metrics.jsonl holds its settings, the logged train
// steps, the validations and final scores that agree with train.log; `pgolf compare` refuses mixed
// configurations and single-run candidates; `pgolf report` writes the PNG and the summary;
// `pgolf submission` writes the records-style folder and refuses what is not submittable. The
// metrics reader is also checked on a handwritten file: resume overlap, nulls, a damaged line.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/report/run_comparison.h"
#include "frontend/report/run_report.h"
#include "frontend/report/submission_folder.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

namespace fs = std::filesystem;

int run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "pgolf");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return cli::main(static_cast<int>(argv.size()), argv.data());
}

int train_seeds(const fs::path& dir, const std::string& seeds) {
    env::ScopedOverride s("SEEDS", seeds), d("RUN_DIR", dir.string());
    return run_cli({"train"});
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("runs: SEEDS, metrics.jsonl, compare and report on tiny trainings") {
    TinyRun run("runs");
    env::ScopedOverride log_every("TRAIN_LOG_EVERY", "4"), val_every("VAL_LOSS_EVERY", "6");
    REQUIRE(train_seeds(run.dir / "a", "1,2") == 0);
    {
        env::ScopedOverride lr("MATRIX_LR", "0.02");
        REQUIRE(train_seeds(run.dir / "b", "3,4") == 0);
    }

    report::RunMetrics a1 = report::load_run(run.dir / "a" / "seed1");
    CHECK(a1.setting("SEED") == "1");
    CHECK(a1.run_id.ends_with("_seed1"));
    CHECK(a1.model_params > 0);
    // The baseline's log schedule: every step up to 10, then every TRAIN_LOG_EVERY.
    std::vector<int64_t> steps;
    for (const auto& p : a1.train) steps.push_back(p.step);
    CHECK(steps == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12});
    REQUIRE(a1.val.size() == 3);
    CHECK(a1.val[1].step == 6);
    const report::FinalScores& f = a1.final_scores();
    CHECK(f.steps == 12);
    CHECK(f.val_bpb == a1.val.back().val_bpb);
    CHECK(f.total_bytes == f.artifact_bytes + f.code_bytes);
    // The round-trip score agrees with the log line the records print (8 decimals there).
    std::smatch m;
    std::string log = read_text(run.dir / "a" / "seed1" / "train.log");
    REQUIRE(std::regex_search(log, m, std::regex("roundtrip_exact val_loss:([0-9.]+) val_bpb:([0-9.]+)")));
    CHECK(f.roundtrip_val_loss == doctest::Approx(std::stod(m[1])).epsilon(1e-7));
    CHECK(f.roundtrip_val_bpb == doctest::Approx(std::stod(m[2])).epsilon(1e-7));
    CHECK(report::load_run(run.dir / "a" / "seed2").final_scores().roundtrip_val_loss != f.roundtrip_val_loss);

    auto group = [&](const std::string& label, std::vector<fs::path> dirs, std::vector<std::string> ignore = {}) {
        std::vector<report::RunMetrics> runs;
        for (const auto& d : report::expand_run_dirs(dirs)) runs.push_back(report::load_run(d));
        return report::make_group(label, std::move(runs), ignore);
    };
    report::Comparison c = report::compare_groups(group("baseline", {run.dir / "a"}), group("candidate", {run.dir / "b"}));
    CHECK(c.baseline.runs.size() == 2);
    CHECK(c.test.test == "welch");
    CHECK(c.test.p >= 0);
    CHECK(c.test.p <= 1);
    CHECK(report::comparison_text(c).find("verdict:") != std::string::npos);
    CHECK_THROWS_WITH_AS(group("baseline", {run.dir / "a" / "seed1", run.dir / "b" / "seed3"}),
                         doctest::Contains("MATRIX_LR"), Error);
    CHECK(group("baseline", {run.dir / "a" / "seed1", run.dir / "b" / "seed3"}, {"MATRIX_LR"}).runs.size() == 2);

    // The command line: exit status 0 on success, 1 with a message on each kind of bad input.
    CHECK(run_cli({"compare", "--baseline", (run.dir / "a").string(), "--candidate", (run.dir / "b").string()}) == 0);
    CHECK(run_cli({"compare", "--baseline", (run.dir / "a").string(), "--candidate", (run.dir / "b" / "seed3").string()}) ==
          1);
    CHECK(run_cli({"compare", "--baseline", (run.dir / "a").string(), (run.dir / "b" / "seed3").string(), "--candidate",
               (run.dir / "b").string()}) == 1);
    CHECK(run_cli({"report", (run.dir / "data").string()}) == 1);

    const fs::path out = run.dir / "report";
    REQUIRE(run_cli({"report", (run.dir / "a").string(), (run.dir / "b").string(), "--out", out.string()}) == 0);
    CHECK(fs::file_size(out / "report.png") > 10000);
    std::string md = read_text(out / "report.md");
    CHECK(md.find("MATRIX_LR") != std::string::npos);
    CHECK(md.find("| b/seed4 |") != std::string::npos);
    CHECK(md.find("_seed4)") != std::string::npos);  // its RUN_ID

    // The submission folder: both seeds' logs, the first seed's artifact, the mean score.
    const fs::path sub = run.dir / "submission";
    REQUIRE(run_cli({"submission", (run.dir / "a").string(), "--out", sub.string()}) == 0);
    for (const char* f : {"README.md", "submission.json", "train_seed1.log", "train_seed2.log", "metrics_seed2.jsonl"})
        CHECK(fs::exists(sub / f));
    CHECK(fs::exists(sub / a1.final_scores().artifact));
    nlohmann::json j = nlohmann::json::parse(read_text(sub / "submission.json"));
    const double seed2 = report::load_run(run.dir / "a" / "seed2").final_scores().roundtrip_val_bpb;
    CHECK(j["val_bpb"].get<double>() == doctest::Approx((f.roundtrip_val_bpb + seed2) / 2).epsilon(1e-12));
    CHECK(j["seeds"].size() == 2);
    CHECK(j["bytes_total"].get<int64_t>() == f.total_bytes);
    CHECK(read_text(sub / "README.md").find("MATRIX_LR=0.04") != std::string::npos);
    CHECK(run_cli({"submission", (run.dir / "a").string(), "--out", sub.string()}) == 1);  // exists: untouched
    CHECK(run_cli({"submission", (run.dir / "a").string(), (run.dir / "b").string(), "--out",
                   (run.dir / "mixed").string()}) == 1);
    CHECK(run_cli({"submission", (run.dir / "a").string(), "--artifact-seed", "9", "--out",
                   (run.dir / "s9").string()}) == 1);
    fs::resize_file(run.dir / "a" / "seed1" / a1.final_scores().artifact, 10);  // replaced after the run
    CHECK_THROWS_WITH_AS(report::write_submission_folder({a1}, run.dir / "s1"), doctest::Contains("replaced"), Error);
    CHECK(!fs::exists(run.dir / "mixed"));
    CHECK(!fs::exists(run.dir / "s1"));
}

TEST_CASE("runs: a submission over the 16,000,000-byte cap is refused, nothing written") {
    fs::path dir = fs::temp_directory_path() / fmt::format("pgolf_cap_{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir / "run");
    std::ofstream(dir / "run" / "metrics.jsonl")
        << R"({"kind":"run","run_id":"big","settings":{"SEED":"1"}})" << "\n"
        << R"({"kind":"final","steps":1,"roundtrip_val_loss":1,"roundtrip_val_bpb":1,"artifact":"big.bin",)"
        << R"("artifact_bytes":15999995,"code_bytes":10,"total_bytes":16000005})" << "\n";
    std::ofstream(dir / "run" / "big.bin").close();
    fs::resize_file(dir / "run" / "big.bin", 15999995);  // sparse: no real bytes written
    CHECK_THROWS_WITH_AS(report::write_submission_folder({report::load_run(dir / "run")}, dir / "out"),
                         doctest::Contains("5 over the 16000000-byte cap"), Error);
    CHECK(!fs::exists(dir / "out"));
    fs::remove_all(dir);
}

TEST_CASE("runs: the metrics reader keeps the resumed history, reads nulls as gaps, names a damaged line") {
    fs::path dir = fs::temp_directory_path() / fmt::format("pgolf_metrics_{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "metrics.jsonl");
        out << R"({"kind":"run","run_id":"r","settings":{"SEED":"7"},"model_params":10,"wall_s":0})" << "\n";
        for (int s = 1; s <= 6; ++s) out << fmt::format(R"({{"kind":"train","step":{},"train_loss":{}}})", s, 10 - s) << "\n";
        // Resumed from the step-4 checkpoint: steps 5.. are logged again, one loss diverged (null).
        out << R"({"kind":"run","run_id":"r","settings":{"SEED":"7"},"model_params":10})" << "\n";
        out << R"({"kind":"train","step":5,"train_loss":2.5})" << "\n";
        out << R"({"kind":"train","step":6,"train_loss":null})" << "\n";
        out << R"({"kind":"future_kind","x":1})" << "\n";
    }
    report::RunMetrics r = report::load_run(dir);
    REQUIRE(r.train.size() == 6);
    CHECK(r.train[4].train_loss == 2.5);
    CHECK(std::isnan(r.train[5].train_loss));
    CHECK(!r.final.has_value());
    CHECK_THROWS_WITH_AS(r.final_scores(), doctest::Contains("did not finish"), Error);
    std::ofstream(dir / "metrics.jsonl", std::ios::app) << "{\"kind\":\"train\",\"st\n";
    CHECK_THROWS_WITH_AS(report::load_run(dir), doctest::Contains("metrics.jsonl:12"), Error);
    fs::remove_all(dir);
}

}  // namespace pg
