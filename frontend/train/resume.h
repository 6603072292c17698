// Which checkpoint a run resumes from (RESUME_FROM): none (""), a given file, or "auto": the newest
// checkpoint in RUN_DIR (checkpoint_step<N>.ckpt or final_model.ckpt, by modification time) whose
// digest verifies. A damaged one is skipped with a warning in the log; with none left, the run
// starts fresh and says so.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "frontend/export/checkpoint.h"

namespace pg {

class RunLog;

inline constexpr std::string_view kResumeAuto = "auto";

// The file name of the resumable checkpoint after `step` steps.
std::string step_checkpoint_name(int64_t step);

// The newest valid checkpoint in `run_dir`, or nullopt.
std::optional<io::Checkpoint> find_resume_checkpoint(const std::filesystem::path& run_dir, RunLog& log);

// The checkpoint `resume_from` asks for (see above); a named file that cannot be read is an error.
std::optional<io::Checkpoint> resume_checkpoint(const std::string& resume_from, const std::filesystem::path& run_dir,
                                                RunLog& log);

}  // namespace pg
