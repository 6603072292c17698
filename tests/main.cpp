// Entry point of the pgolf test binary: doctest's runner, a listener that lists every skipped test
// case with its reason at the end ("[skip]" lines, see tests/support/skip.h), and
// --require=gpu|nvrtc, with which a ctest entry whose cases all need a GPU (or NVRTC) exits with
// ctest's skip code 77 and the reason instead of passing vacuously.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "tests/cuda/cuda_test_util.h"
#include "tests/support/skip.h"

namespace pg::testing {
namespace {

struct Skip {
    std::string test_case, reason;
    bool part;
};

std::mutex skips_mu;
std::vector<Skip> skips;
std::string current_test_case;

// Keeps the name of the running test case for record_skip, and prints the skips at the end.
struct SkipListener : doctest::IReporter {
    explicit SkipListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {
        std::lock_guard lock(skips_mu);
        for (const Skip& s : skips)
            fmt::print("[skip] {}{}: {}\n", s.part ? "part of " : "", s.test_case, s.reason);
        fmt::print("[skip] {} test case(s) skipped all or part of their checks\n", skips.size());
    }
    void test_case_start(const doctest::TestCaseData& tc) override {
        std::lock_guard lock(skips_mu);
        current_test_case = tc.m_name;
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

void record_skip(const std::string& reason, bool part) {
    std::lock_guard lock(skips_mu);
    skips.push_back({current_test_case, reason, part});
}

}  // namespace pg::testing

REGISTER_LISTENER("pgolf-skips", 1, pg::testing::SkipListener);

int main(int argc, char** argv) {
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        std::string why;
        if (std::strcmp(argv[i], "--require=gpu") == 0)
            why = pg::testing::gpu_missing();
        else if (std::strcmp(argv[i], "--require=nvrtc") == 0)
            why = pg::testing::nvrtc_missing();
        else
            args.push_back(argv[i]);
        if (!why.empty()) {
            fmt::print("[skip] every case of this entry needs what is missing here: {}\n", why);
            return 77;  // ctest's SKIP_RETURN_CODE
        }
    }
    doctest::Context context(static_cast<int>(args.size()), args.data());
    return context.run();
}
