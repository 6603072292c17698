// The records-style submission folder (see submission_folder.h).
#include "frontend/report/submission_folder.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/env.h"
#include "base/error.h"
#include "frontend/export/export_model.h"
#include "frontend/export/submission_json.h"
#include "frontend/report/run_comparison.h"
#include "frontend/train/hyperparams.h"

namespace pg::report {
namespace {

namespace fs = std::filesystem;

const RunMetrics& artifact_run(const RunGroup& g, const std::string& seed) {
    if (seed.empty()) return g.runs.front();
    auto it = std::find_if(g.runs.begin(), g.runs.end(), [&](const RunMetrics& r) { return r.setting("SEED") == seed; });
    PG_CHECK(it != g.runs.end(), "no run with SEED={} among the {} runs given (--artifact-seed names one of their "
             "seeds)", seed, g.runs.size());
    return *it;
}

// The chosen run's artifact, checked to be the file whose round trip was scored.
fs::path checked_artifact(const RunMetrics& run) {
    const FinalScores& f = run.final_scores();
    fs::path p = run.dir / f.artifact;
    PG_CHECK(!f.artifact.empty() && fs::is_regular_file(p), "run {}: its artifact {} is missing", run.name(),
             p.string());
    PG_CHECK(static_cast<int64_t>(fs::file_size(p)) == f.artifact_bytes,
             "run {}: {} has {} bytes but the run scored a {}-byte artifact: it was replaced after the run",
             run.name(), p.string(), fs::file_size(p), f.artifact_bytes);
    const int64_t total = f.artifact_bytes + f.code_bytes;
    PG_CHECK(total <= io::kSubmissionCapBytes,
             "run {}: artifact {} + code {} = {} bytes, {} over the {}-byte cap: not a valid submission (export "
             "with fewer bits or another COMPRESSOR)", run.name(), f.artifact_bytes, f.code_bytes, total,
             total - io::kSubmissionCapBytes, io::kSubmissionCapBytes);
    return p;
}

// Identity fields: the run's submission.json, overridden by SUBMISSION_* settings given now.
io::SubmissionInfo identity(const RunMetrics& run) {
    io::SubmissionInfo s = io::read_submission_json(run.dir / io::kSubmissionFileName);
    auto given = [](const char* knob) { return env::get(knob) != env::find(knob)->default_value; };
    if (given("SUBMISSION_NAME")) s.name = env::get("SUBMISSION_NAME");
    if (given("SUBMISSION_AUTHOR")) s.author = env::get("SUBMISSION_AUTHOR");
    if (given("SUBMISSION_GITHUB_ID")) s.github_id = env::get("SUBMISSION_GITHUB_ID");
    if (given("SUBMISSION_BLURB")) s.blurb = env::get("SUBMISSION_BLURB");
    s.date = io::utc_date_today();
    return s;
}

std::string submission_json(const RunGroup& g, const RunMetrics& chosen) {
    io::SubmissionInfo s = identity(chosen);
    s.val_loss = summarize(g.val_loss).mean;
    s.val_bpb = summarize(g.val_bpb).mean;
    s.bytes_model = chosen.final_scores().artifact_bytes;
    s.bytes_code = chosen.final_scores().code_bytes;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(io::submission_json_text(s));
    j["val_loss_std"] = summarize(g.val_loss).sd;
    j["val_bpb_std"] = summarize(g.val_bpb).sd;
    j["artifact_seed"] = chosen.setting("SEED");
    nlohmann::ordered_json seeds = nlohmann::ordered_json::array();
    for (size_t i = 0; i < g.runs.size(); ++i)
        seeds.push_back({{"seed", g.runs[i].setting("SEED")}, {"val_loss", g.val_loss[i]}, {"val_bpb", g.val_bpb[i]},
                         {"steps", g.runs[i].final_scores().steps},
                         {"train_time_ms", g.runs[i].final_scores().train_time_ms},
                         {"bytes_model", g.runs[i].final_scores().artifact_bytes}});
    j["seeds"] = seeds;
    return j.dump(2) + "\n";
}

std::string settings_block(const RunMetrics& run) {
    const auto& ignore = run_identity_knob_names();
    std::string out;
    for (const auto& [k, v] : run.settings)
        if (std::find(ignore.begin(), ignore.end(), k) == ignore.end() && k.rfind("SUBMISSION_", 0) != 0)
            out += fmt::format("{}={}\n", k, v);
    return out;
}

std::string readme(const RunGroup& g, const RunMetrics& chosen, const io::SubmissionInfo& s) {
    SampleSummary loss = summarize(g.val_loss), bpb = summarize(g.val_bpb);
    const FinalScores& f = chosen.final_scores();
    std::string md = fmt::format("# {}\n\n{}\n\n", s.name, s.blurb.empty() ? "(no description: set SUBMISSION_BLURB)" : s.blurb);
    md += fmt::format("**val_bpb {:.4f}** (mean of {} seeds, sd {:.4f}); val_loss {:.4f} (sd {:.4f}) nats. Author: {} "
                      "({}), {}.\n\n", bpb.mean, bpb.n, bpb.sd, loss.mean, loss.sd, s.author, s.github_id, s.date);
    md += "| seed | steps | train time | val_loss | val_bpb | artifact bytes | log |\n| --- | --- | --- | --- | --- | --- | --- |\n";
    for (size_t i = 0; i < g.runs.size(); ++i) {
        const FinalScores& r = g.runs[i].final_scores();
        md += fmt::format("| {} | {} | {:.1f} s | {:.8f} | {:.8f} | {} | train_seed{}.log |\n", g.runs[i].setting("SEED"),
                          r.steps, r.train_time_ms / 1000, g.val_loss[i], g.val_bpb[i], r.artifact_bytes,
                          g.runs[i].setting("SEED"));
    }
    md += fmt::format("\nScores are the round trip of each seed's artifact (quantised, compressed, read back and "
                      "evaluated). Artifact in this folder: `{}` (seed {}), quantisation `{}`, compressor `{}`.\n\n",
                      f.artifact, chosen.setting("SEED"), s.quant_scheme, s.compressor);
    md += fmt::format("| bytes | |\n| --- | --- |\n| artifact | {} |\n| code (model definition) | {} |\n| total | {} "
                      "|\n| cap | {} |\n\n", f.artifact_bytes, f.code_bytes, f.artifact_bytes + f.code_bytes,
                      io::kSubmissionCapBytes);
    md += fmt::format("## Settings\n\n```\n{}```\n\nReproduce with pgolf {} (`pgolf env` lists every setting): set the "
                      "settings above, then `SEEDS=", settings_block(chosen), PG_VERSION);
    for (size_t i = 0; i < g.runs.size(); ++i) md += (i ? "," : "") + g.runs[i].setting("SEED");
    md += " pgolf train`.\n";
    return md;
}

void copy_into(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy_file(from, to, ec);
    PG_CHECK(!ec, "cannot copy {} to {}: {}", from.string(), to.string(), ec.message());
}

}  // namespace

std::vector<fs::path> write_submission_folder(const std::vector<RunMetrics>& runs, const fs::path& out,
                                              const std::string& artifact_seed) {
    RunGroup g = make_group("submission", runs, {});
    const RunMetrics& chosen = artifact_run(g, artifact_seed);
    const fs::path artifact = checked_artifact(chosen);
    PG_CHECK(!fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)),
             "{} already exists and is not empty: give a new --out folder (nothing was written)", out.string());
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    fs::path temp = parent / fmt::format(".{}.tmp{}", out.filename().string(), ::getpid());
    fs::remove_all(temp);
    fs::create_directories(temp);
    try {
        io::write_file_atomically(temp / "README.md", readme(g, chosen, identity(chosen)));
        io::write_file_atomically(temp / io::kSubmissionFileName, submission_json(g, chosen));
        for (const RunMetrics& r : g.runs) {
            copy_into(r.dir / "train.log", temp / fmt::format("train_seed{}.log", r.setting("SEED")));
            copy_into(r.dir / "metrics.jsonl", temp / fmt::format("metrics_seed{}.jsonl", r.setting("SEED")));
        }
        copy_into(artifact, temp / artifact.filename());
        if (fs::exists(out)) fs::remove(out);
        fs::rename(temp, out);
    } catch (...) {
        fs::remove_all(temp);
        throw;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(out)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace pg::report
