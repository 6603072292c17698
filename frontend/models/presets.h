// The five seed recipes of the records as presets (docs/presets.md): PRESET=<name> (or
// --preset=<name>) sets every setting the submission states, and where it is silent the value of
// the base record it builds on. Preset values sit between the environment and the defaults, so
// any --flag or environment variable still overrides them (base/env.h).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace pg {

struct Preset {
    std::string name, title;
    std::string sources;   // the records / PRs it reproduces
    std::string reported;  // the submission's reported val_bpb
    std::vector<std::pair<std::string, std::string>> settings;
};

const std::vector<Preset>& presets();

// The preset called `name`; pg::Error naming PRESET and listing the presets otherwise.
const Preset& find_preset(const std::string& name);

// Applies the preset named by the PRESET setting (nothing when empty); called by every command
// after its --flags are read.
void apply_preset_setting();

}  // namespace pg
