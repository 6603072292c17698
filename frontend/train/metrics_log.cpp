// MetricsLog (see metrics_log.h).
#include "frontend/train/metrics_log.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.h"

namespace pg {

MetricsLog::MetricsLog(const std::string& run_dir) : opened_(std::chrono::steady_clock::now()) {
    std::string path = (std::filesystem::path(run_dir) / kMetricsFileName).string();
    file_ = std::fopen(path.c_str(), "a");
    PG_CHECK(file_ != nullptr, "cannot open the metrics file {}: {} (set RUN_DIR to a writable place)", path,
             std::strerror(errno));
}

MetricsLog::~MetricsLog() {
    if (file_) std::fclose(file_);
}

void MetricsLog::write(const std::string& kind, nlohmann::json record) {
    record["kind"] = kind;
    record["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_).count();
    // Non-finite numbers (a diverged loss) become null: JSON has no NaN, and readers treat null as a gap.
    fmt::print(file_, "{}\n", record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fflush(file_);
}

}  // namespace pg
