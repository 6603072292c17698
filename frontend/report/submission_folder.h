// `pgolf submission`: a records-style folder from a run or the seeds of one configuration, as the
// challenge's pull requests add them (pgolf-spec §6): README.md (settings, per-seed results, mean
// and sd, sizes, how to reproduce), submission.json (the challenge's fields; val_loss / val_bpb
// the mean over seeds, each seed listed), every seed's train log and metrics, and one artifact —
// after checking that artifact + code bytes fit the 16,000,000-byte cap.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "frontend/report/run_metrics.h"

namespace pg::report {

// Writes the folder `out` (which must not exist yet, or be empty) from `runs`, all finished seeds of
// one configuration; the artifact is that of the run with SEED == `artifact_seed` ("" = the first).
// The folder appears complete or not at all (built beside it, then renamed). Returns the files.
// pg::Error when the runs differ in configuration, one did not finish, the artifact is missing or
// not the one the run measured, or artifact + code bytes exceed the cap.
std::vector<std::filesystem::path> write_submission_folder(const std::vector<RunMetrics>& runs,
                                                           const std::filesystem::path& out,
                                                           const std::string& artifact_seed = "");

}  // namespace pg::report
