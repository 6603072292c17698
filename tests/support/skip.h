// Visible skips. A test case that cannot run here (no GPU, no NVRTC, no PyTorch, running as root)
// calls PG_SKIP(reason): the reason is printed, recorded, and listed again at the end of the run
// in lines starting "[skip]" (scripts/test.sh collects them from every ctest entry), so that a
// skipped case is never silently counted as a pass. PG_SKIP_PART records a check inside a case
// that could not run while the rest of the case did.
#pragma once
#include <doctest/doctest.h>

#include <sstream>
#include <string>

namespace pg::testing {

// Records that the current test case skipped (all or `part` of) its checks for `reason`.
void record_skip(const std::string& reason, bool part = false);

}  // namespace pg::testing

#define PG_SKIP(reason)                                      \
    do {                                                     \
        std::ostringstream pg_skip_why;                      \
        pg_skip_why << reason;                               \
        ::pg::testing::record_skip(pg_skip_why.str());       \
        MESSAGE("skipped: " << pg_skip_why.str());           \
        return;                                              \
    } while (0)

#define PG_SKIP_PART(reason)                                 \
    do {                                                     \
        std::ostringstream pg_skip_why;                      \
        pg_skip_why << reason;                               \
        ::pg::testing::record_skip(pg_skip_why.str(), true); \
        MESSAGE("skipped part: " << pg_skip_why.str());      \
    } while (0)
