// Test support: the settings in force (every knob whose value, from an override or the
// environment, differs from its default) as shell assignments "NAME='value' ...", so that a
// `pgolf` subprocess runs with what an in-process test set through env::ScopedOverride.
#pragma once
#include <fmt/format.h>

#include <string>

#include "base/env.h"

namespace pg::testing {

inline std::string knob_assignments() {
    std::string out;
    for (const env::Knob* k : env::all())
        if (std::string v = env::get(k->name); v != k->default_value) out += fmt::format("{}='{}' ", k->name, v);
    return out;
}

}  // namespace pg::testing
