// The progress line: its documented format (README), the ETA to whichever limit comes first, and
// silence when stderr is not a terminal (PG_PROGRESS=auto) so piped logs stay the baseline's lines.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "base/env.h"
#include "frontend/train/progress.h"

namespace {

std::string contents(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
    return s;
}

}  // namespace

TEST_CASE("progress: the training line and its ETA to the nearer limit") {
    // 100 steps of 65,536 tokens in 50 s: 131.1k tok/s; 900 steps left at 0.5 s = 450 s, cap in 550 s.
    pg::TrainingProgress p{100, 1000, 50000, 600000, 65536, 1.0, 3.41204};
    CHECK(pg::format_training_progress(p) ==
          "step 100/1000 10.0% | 131.1k tok/s | lr 1.00 | loss 3.4120 | 0m50s, eta 7m30s to the last step");
    p.cap_ms = 200000;  // the cap now comes first: 150 s left
    CHECK(pg::format_training_progress(p).ends_with("eta 2m30s to the wallclock cap"));
    p.cap_ms = 0;
    p.step = 0;  // no rate yet: no ETA
    CHECK(pg::format_training_progress(p).find("eta") == std::string::npos);
    CHECK(pg::format_duration(7384) == "2h03m");
}

TEST_CASE("progress: the evaluation line") {
    CHECK(pg::format_eval_progress("validation", 1, 4, 3000) == "validation 25% (1/4 batches) | 0m03s, eta 0m09s");
}

TEST_CASE("progress: nothing is drawn off a terminal unless PG_PROGRESS=on") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    {
        pg::ProgressLine quiet(f);  // auto, and a file is not a terminal
        CHECK(!quiet.enabled());
        quiet.show("step 1/2");
        quiet.clear();
    }
    CHECK(contents(f).empty());
    {
        pg::env::ScopedOverride on("PG_PROGRESS", "on");
        pg::ProgressLine line(f);
        line.show("step 1/2");
        line.clear();
    }
    CHECK(contents(f) == "\r\033[Kstep 1/2\r\033[K");
    std::fclose(f);
}
