// RunLog (see run_log.h).
#include "frontend/train/run_log.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "frontend/train/progress.h"

namespace pg {

RunLog::RunLog(const std::string& path) : path_(path) {
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    PG_CHECK(!ec, "cannot create the run directory {}: {} (set RUN_DIR to a writable place)", parent.string(),
             ec.message());
    file_ = std::fopen(path.c_str(), "a");
    PG_CHECK(file_ != nullptr, "cannot open the log file {}: {} (set RUN_DIR to a writable place)", path,
             std::strerror(errno));
}

RunLog::~RunLog() {
    if (file_) std::fclose(file_);
}

void RunLog::line(const std::string& text) {
    if (progress_) progress_->clear();
    fmt::print("{}\n", text);
    std::fflush(stdout);
    fmt::print(file_, "{}\n", text);
    std::fflush(file_);
    if (progress_) progress_->restore();
}

}  // namespace pg
