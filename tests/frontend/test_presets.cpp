// Presets (frontend/models/presets.h) and the variant settings' validation: every preset resolves
// to a valid configuration whose parameter count matches the records' (pgolf-spec §5: 26.8–27.1 M
// for the 11-layer 3× sp1024 stack; 35.94 M for the SP8192 4× stack without value embeddings, to
// which pr1539's VE of width 44 adds 8192·44 + 256·44 = 371,712), flags and the environment win over a preset and
// --print-config says where each value came from, and bad settings get errors naming them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "base/env.h"
#include "base/error.h"
#include "frontend/models/presets.h"
#include "frontend/train/print_config.h"

namespace pg {
namespace {

// Applies PRESET=name for the scope; the preset layer is cleared at the end.
struct ScopedPreset {
    env::ScopedOverride preset;
    explicit ScopedPreset(const std::string& name) : preset("PRESET", name) { apply_preset_setting(); }
    ~ScopedPreset() { env::clear_preset_values(); }
};

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("presets: each preset resolves, with the records' parameter counts") {
    for (const Preset& p : presets()) {
        ScopedPreset scope(p.name);
        Hyperparams h = read_hyperparams();
        const int64_t n = model_param_count(h.model, 64);
        MESSAGE(p.name, ": ", n, " parameters");
        CHECK(n > 15'000'000);
        if (p.name == "pr401") CHECK((n >= 26'800'000 && n <= 27'100'000));
        if (p.name == "pr1539") CHECK((n >= 36'200'000 && n <= 36'400'000));
        for (const auto& [k, v] : p.settings) CHECK(env::source(k) == "preset " + p.name);
    }
}

TEST_CASE("presets: flags win over the preset, and --print-config names each value's source") {
    ScopedPreset scope("pr401");
    env::ScopedOverride layers("NUM_LAYERS", "6");
    env::ScopedOverride ve("VE_LAYERS", "4,5");
    Hyperparams h = read_hyperparams();
    CHECK(h.model.num_layers == 6);
    CHECK(h.model.variant.xsa_last_n == 4);
    CHECK(h.recipe.ema);
    std::string text = resolved_config(h);
    CHECK(text.find("NUM_LAYERS                   = 6") != std::string::npos);
    CHECK(text.find("(flag)") != std::string::npos);
    CHECK(text.find("XSA_LAST_N                   = 4                                    (preset pr401)") !=
          std::string::npos);
    CHECK(text.find("(default)") != std::string::npos);
    CHECK(text.find("model_params: ") != std::string::npos);
}

TEST_CASE("presets: bad settings get an error naming the setting") {
    CHECK(error_of([] { ScopedPreset p("pr999"); }).find("PRESET=pr999") != std::string::npos);
    env::ScopedOverride layers("NUM_LAYERS", "4");
    {
        env::ScopedOverride x("XSA_LAST_N", "5");
        CHECK(error_of([] { read_hyperparams(); }).find("XSA_LAST_N=5") != std::string::npos);
    }
    {
        env::ScopedOverride r("ROPE_DIMS", "15");
        CHECK(error_of([] { read_hyperparams(); }).find("ROPE_DIMS=15") != std::string::npos);
    }
    {
        env::ScopedOverride r("ROPE_DIMS", "128");  // head dim 512/8 = 64
        CHECK(error_of([] { read_hyperparams(); }).find("ROPE_DIMS=128") != std::string::npos);
    }
    {
        env::ScopedOverride s("LOOP_START", "2"), e("LOOP_END", "4"), n("NUM_LOOPS", "1");
        CHECK(error_of([] { read_hyperparams(); }).find("LOOP_END=4") != std::string::npos);
    }
    {
        env::ScopedOverride v("VE_ENABLED", "1");  // VE_LAYERS defaults to 9,10
        CHECK(error_of([] { read_hyperparams(); }).find("VE_LAYERS") != std::string::npos);
    }
    for (const char* frac : {"1.5", "-0.1"}) {
        env::ScopedOverride f("ENABLE_LOOPING_AT", frac);
        CHECK(error_of([] { read_hyperparams(); }).find(fmt::format("ENABLE_LOOPING_AT={}", frac)) != std::string::npos);
    }
    {
        env::ScopedOverride m("MODEL", "mamba");
        CHECK(error_of([] { read_hyperparams(); }).find("MODEL=mamba") != std::string::npos);
    }
    {
        env::ScopedOverride m("MODEL_FAMILY", "mamba");  // the older name is still read
        CHECK(error_of([] { read_hyperparams(); }).find("MODEL=mamba") != std::string::npos);
    }
    {
        env::ScopedOverride m("MODEL", "gpt"), f("MODEL_FAMILY", "mamba");
        CHECK(error_of([] { read_hyperparams(); }).find("MODEL=gpt and MODEL_FAMILY=mamba disagree") !=
              std::string::npos);
    }
}

}  // namespace pg
