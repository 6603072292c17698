// `pgolf compile --estimate` end to end on a tiny configuration, without NVRTC or a GPU: every
// graph's memory plan in bytes, the per-kernel table cut at --top, the totals and the training
// step; unfused is estimated slower than fused (more launches, more memory traffic); an unknown
// --gpu is refused naming the known ones.
#include <doctest/doctest.h>

#include <regex>

#include "tests/support/test_files.h"

namespace pg {
namespace {

namespace test = pg::testing;

const std::string kTiny =
    "NUM_LAYERS=1 MODEL_DIM=64 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=96 TRAIN_SEQ_LEN=32 TRAIN_BATCH_TOKENS=256 "
    "VAL_BATCH_SIZE=256 " PG_BINARY " compile --estimate";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

double micro_step_ms(const std::string& output) {
    std::smatch m;
    REQUIRE(std::regex_search(output, m, std::regex(R"(micro-step total: ([0-9.]+) ms estimated)")));
    return std::stod(m[1]);
}

}  // namespace

TEST_CASE("cli: pgolf compile --estimate prints memory plans, the top kernels and the step estimate") {
    auto fused = test::run_command(kTiny + " --gpu h200 --top 3");
    INFO(fused.output);
    REQUIRE(fused.status == 0);
    CHECK(has(fused.output, "memory plan: arena "));
    CHECK(has(fused.output, "estimate on h200 (NVIDIA H200"));
    CHECK(has(fused.output, "micro-step on h200: top 3 of "));
    CHECK(has(fused.output, "optimizer total: "));
    CHECK(has(fused.output, "eval total: "));
    CHECK(has(fused.output, "training step on h200: micro-step of 32 tokens"));  // 256 tokens / 8 micro-steps
    CHECK(has(fused.output, "one GPU alone (8 micro-steps + the optimizer, 256 tokens)"));
    auto unfused = test::run_command(kTiny + " --gpu h200 --unfused --top 3");
    REQUIRE(unfused.status == 0);
    CHECK(micro_step_ms(unfused.output) > micro_step_ms(fused.output));

    auto unknown = test::run_command(kTiny + " --gpu a100");
    CHECK(unknown.status != 0);
    CHECK(has(unknown.output, "known: h100, h200"));
}

}  // namespace pg
