// The knob registry: invalid values and unknown names give errors that name the setting and say
// what is accepted; overrides win over the environment; codegen knobs enter the kernel digest.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"

namespace pg {

namespace {
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("runtime: an invalid knob value names the knob, the value and what is accepted") {
    ::setenv("PG_FUSION", "maybe", 1);
    std::string msg = error_of([] { env::get_bool("PG_FUSION"); });
    ::unsetenv("PG_FUSION");
    CHECK(msg.find("PG_FUSION") != std::string::npos);
    CHECK(msg.find("maybe") != std::string::npos);
    CHECK(msg.find("0 or 1") != std::string::npos);

    ::setenv("NUM_LAYERS", "nine", 1);
    msg = error_of([] { env::get_int("NUM_LAYERS"); });
    ::unsetenv("NUM_LAYERS");
    CHECK(msg.find("NUM_LAYERS='nine'") != std::string::npos);
    CHECK(msg.find("integer") != std::string::npos);

    msg = error_of([] { env::set_override("PG_MUON_NS_DTYPE", "f64"); });
    CHECK(msg.find("one of: bf16, f32") != std::string::npos);
}

TEST_CASE("runtime: unknown settings are errors that point at `pgolf env`") {
    std::string msg = error_of([] { env::get("PG_FUSON"); });
    CHECK(msg.find("unknown setting 'PG_FUSON'") != std::string::npos);
    CHECK(msg.find("pgolf env") != std::string::npos);
}

TEST_CASE("runtime: overrides win over the environment and --flags map to knobs") {
    ::setenv("MODEL_DIM", "256", 1);
    CHECK(env::get_int("MODEL_DIM") == 256);
    {
        env::ScopedOverride o("MODEL_DIM", "128");
        CHECK(env::get_int("MODEL_DIM") == 128);
    }
    CHECK(env::get_int("MODEL_DIM") == 256);
    ::unsetenv("MODEL_DIM");
    // --model is the command's own option here (eval's file), not the MODEL setting.
    std::vector<std::string> rest =
        cli::apply_knob_flags({"--model-dim=96", "--num-heads", "6", "--model", "x"}, {"model"});
    CHECK(env::get_int("MODEL_DIM") == 96);
    CHECK(env::get_int("NUM_HEADS") == 6);
    CHECK(rest == std::vector<std::string>{"--model", "x"});
    CHECK(env::get("MODEL") == "gpt");
    rest = cli::apply_knob_flags({"--model=gpt2"});  // without such an option it is the setting
    CHECK(rest.empty());
    CHECK(env::get("MODEL") == "gpt2");
    env::clear_override("MODEL");
    env::clear_override("MODEL_DIM");
    env::clear_override("NUM_HEADS");
}

TEST_CASE("runtime: codegen knobs enter the kernel digest input, others do not") {
    std::string fused = env::codegen_digest_input();
    env::ScopedOverride o("PG_FUSION", "0");
    std::string unfused = env::codegen_digest_input();
    CHECK(fused != unfused);
    CHECK(unfused.find("PG_FUSION=0") != std::string::npos);
    env::ScopedOverride lr("MATRIX_LR", "0.5");
    CHECK(env::codegen_digest_input() == unfused);
}

}  // namespace pg
