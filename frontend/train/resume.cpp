// Choosing the checkpoint to resume from (see resume.h).
#include "frontend/train/resume.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "frontend/train/run_log.h"

namespace pg {

namespace fs = std::filesystem;

std::string step_checkpoint_name(int64_t step) { return fmt::format("checkpoint_step{}.ckpt", step); }

namespace {

bool is_checkpoint_name(const std::string& name) {
    return name == io::kCheckpointFileName || (name.starts_with("checkpoint_step") && name.ends_with(".ckpt"));
}

// The step in a checkpoint's file name (final_model.ckpt: after every other), to order files
// written within the file system's timestamp granularity.
int64_t step_of_name(const std::string& name) {
    if (name == io::kCheckpointFileName) return std::numeric_limits<int64_t>::max();
    return std::strtoll(name.c_str() + std::string_view("checkpoint_step").size(), nullptr, 10);
}

// Checkpoint files of `dir`, newest first.
std::vector<fs::path> candidates(const fs::path& dir) {
    std::vector<std::tuple<fs::file_time_type, int64_t, fs::path>> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (e.is_regular_file() && is_checkpoint_name(name))
            found.emplace_back(e.last_write_time(), step_of_name(name), e.path());
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
    std::vector<fs::path> out;
    for (auto& f : found) out.push_back(std::move(std::get<2>(f)));
    return out;
}

}  // namespace

std::optional<io::Checkpoint> find_resume_checkpoint(const fs::path& run_dir, RunLog& log) {
    for (const fs::path& path : candidates(run_dir)) {
        try {
            return io::load_checkpoint(path);
        } catch (const Error& e) {
            log.line(fmt::format("warning: skipping checkpoint {}: {}", path.string(), e.what()));
        }
    }
    log.line(fmt::format("RESUME_FROM=auto: no valid checkpoint in {}; starting from scratch", run_dir.string()));
    return std::nullopt;
}

std::optional<io::Checkpoint> resume_checkpoint(const std::string& resume_from, const fs::path& run_dir, RunLog& log) {
    if (resume_from.empty()) return std::nullopt;
    if (resume_from == kResumeAuto) return find_resume_checkpoint(run_dir, log);
    return io::load_checkpoint(resume_from);
}

}  // namespace pg
