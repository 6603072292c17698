// The single registry of environment knobs: every PG_* setting and every training hyperparameter
// (NUM_LAYERS, MATRIX_LR, ... as in the challenge's train_gpt.py) is declared once with its
// default, its documentation and whether it changes generated code. Command-line --flags set
// overrides that win over the environment. `pgolf env` lists the registry.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pg::env {

enum class KnobKind { String, Int, Float, Bool };

struct Knob {
    std::string name;
    KnobKind kind = KnobKind::String;
    std::string default_value;
    std::string doc;
    bool affects_codegen = false;       // enters every kernel key
    std::vector<std::string> choices;   // when non-empty, the only accepted values
};

// Registers a knob (at static-initialisation time). Registering a name twice is an internal error.
const Knob& declare(Knob knob);

// The raw value: override, then environment, then default. Validated against the knob's kind and
// choices; an invalid value throws pg::Error naming the knob, the value and what is accepted.
std::string get(std::string_view name);
int64_t get_int(std::string_view name);
double get_float(std::string_view name);
bool get_bool(std::string_view name);

// Overrides (from --flags or tests). An unknown name throws pg::Error listing close names.
void set_override(std::string_view name, std::string value);
void clear_override(std::string_view name);

// Preset values: a layer between the environment and the defaults (a --flag or an environment
// variable still wins), set by `PRESET=<name>` (frontend/models/presets.h). `layer` names it.
void set_preset_value(std::string_view name, std::string value, std::string_view layer);
void clear_preset_values();
// Where the value of `name` comes from: "flag", "environment", "preset <name>" or "default".
std::string source(std::string_view name);

// Every registered knob, sorted by name.
std::vector<const Knob*> all();
const Knob* find(std::string_view name);

// "NAME=value;..." over knobs that affect codegen: part of every KernelKey.
std::string codegen_digest_input();

// RAII override for tests and scoped settings.
class ScopedOverride {
public:
    ScopedOverride(std::string_view name, std::string value);
    ~ScopedOverride();
    ScopedOverride(const ScopedOverride&) = delete;
    ScopedOverride& operator=(const ScopedOverride&) = delete;

private:
    std::string name_;
    bool had_previous_;
    std::string previous_;
};

}  // namespace pg::env

#define PG_ENV_CONCAT2(a, b) a##b
#define PG_ENV_CONCAT(a, b) PG_ENV_CONCAT2(a, b)
// Declares a knob at namespace scope: PG_KNOB({.name = "PG_FUSION", .kind = ..., ...});
#define PG_KNOB(...) \
    static const ::pg::env::Knob& PG_ENV_CONCAT(pg_knob_, __LINE__) = ::pg::env::declare(::pg::env::Knob __VA_ARGS__)
