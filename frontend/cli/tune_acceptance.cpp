// The whole-step acceptance check of `pgolf tune` (see tune_acceptance.h).
#include "frontend/cli/tune_acceptance.h"

#include <filesystem>

#include "frontend/cli/bench_run.h"

namespace pg::cli {
namespace {

// The candidate database's file beside the real one while it is being timed; removed afterwards.
struct CandidateFile {
    std::string path;
    CandidateFile(const TuningDb& db, const std::string& beside) : path(beside + ".candidate") { db.save(path); }
    ~CandidateFile() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

}  // namespace

StepVerdict accept_if_faster(const TuningDb& candidate, const std::string& path, const StepTimer& timer, double margin) {
    StepVerdict v;
    {
        CandidateFile file(candidate, path);
        StepTimings t = timer(path, file.path);
        v.previous_ms = median(t.previous_ms);
        v.candidate_ms = median(t.candidate_ms);
    }
    v.accepted = v.candidate_ms < v.previous_ms * (1 - margin);
    if (v.accepted)
        candidate.save(path);
    else if (candidate.corrupt())
        TuningDb{}.save(path);
    return v;
}

StepTimer bench_step_timer(const Hyperparams& h, int warmup, int rounds) {
    return [h, warmup, rounds](const std::string& previous_db, const std::string& candidate_db) {
        std::vector<std::vector<double>> ms = time_alternating(h, {previous_db, candidate_db}, warmup, rounds);
        return StepTimings{ms[0], ms[1]};
    };
}

}  // namespace pg::cli
