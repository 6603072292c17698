// RunLog: the trainer's log, printed to the terminal and appended to <run_dir>/train.log, line
// by line (flushed), so that a killed run keeps everything it printed. A ProgressLine attached to
// it is erased before each line and redrawn after, so the two never garble each other.
#pragma once
#include <cstdio>
#include <string>

namespace pg {

class ProgressLine;

class RunLog {
public:
    explicit RunLog(const std::string& path);  // creates parent directories; pg::Error if it cannot
    ~RunLog();
    RunLog(const RunLog&) = delete;
    RunLog& operator=(const RunLog&) = delete;

    void line(const std::string& text);
    void attach(ProgressLine* progress) { progress_ = progress; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    ProgressLine* progress_ = nullptr;
};

}  // namespace pg
