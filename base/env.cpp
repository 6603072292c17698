// Implementation of the knob registry (see env.h).
#include "base/env.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>

#include "base/error.h"

namespace pg::env {
namespace {

struct Registry {
    std::mutex mu;
    std::map<std::string, Knob, std::less<>> knobs;
    std::map<std::string, std::string, std::less<>> overrides;
    std::map<std::string, std::pair<std::string, std::string>, std::less<>> presets;  // value, layer
};

Registry& registry() {
    static Registry r;
    return r;
}

std::string_view kind_name(KnobKind k) {
    switch (k) {
        case KnobKind::String: return "a string";
        case KnobKind::Int: return "an integer";
        case KnobKind::Float: return "a number";
        case KnobKind::Bool: return "0 or 1";
    }
    return "?";
}

std::optional<int64_t> parse_int(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return std::nullopt;
    return v;
}

std::optional<double> parse_float(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end != '\0') return std::nullopt;
    return v;
}

std::optional<bool> parse_bool(const std::string& s) {
    if (s == "1" || s == "true" || s == "on" || s == "yes") return true;
    if (s == "0" || s == "false" || s == "off" || s == "no") return false;
    return std::nullopt;
}

const Knob& knob_or_throw(std::string_view name) {
    const Knob* k = find(name);
    if (!k) {
        std::string close;
        for (const Knob* other : all()) {
            if (other->name.find(name.substr(0, std::min<size_t>(name.size(), 4))) != std::string::npos)
                close += (close.empty() ? "" : ", ") + other->name;
        }
        throw Error(fmt::format("unknown setting '{}'{}; `pgolf env` lists every setting", name,
                                close.empty() ? "" : fmt::format(" (did you mean one of: {}?)", close)));
    }
    return *k;
}

void validate(const Knob& k, const std::string& value, std::string_view source) {
    bool ok = true;
    switch (k.kind) {
        case KnobKind::String: break;
        case KnobKind::Int: ok = parse_int(value).has_value(); break;
        case KnobKind::Float: ok = parse_float(value).has_value(); break;
        case KnobKind::Bool: ok = parse_bool(value).has_value(); break;
    }
    if (ok && !k.choices.empty())
        ok = std::find(k.choices.begin(), k.choices.end(), value) != k.choices.end();
    if (!ok) {
        std::string expected = k.choices.empty() ? std::string(kind_name(k.kind))
                                                 : "one of: " + fmt::format("{}", fmt::join(k.choices, ", "));
        throw Error(fmt::format("{} {}='{}' is not valid: expected {} ({})", source, k.name, value,
                                expected, k.doc));
    }
}

}  // namespace

const Knob& declare(Knob knob) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    PG_ASSERT(!r.knobs.count(knob.name), "knob {} declared twice", knob.name);
    validate(knob, knob.default_value, "default of");
    std::string name = knob.name;
    return r.knobs.emplace(name, std::move(knob)).first->second;
}

const Knob* find(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.knobs.find(name);
    return it == r.knobs.end() ? nullptr : &it->second;
}

std::vector<const Knob*> all() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    std::vector<const Knob*> out;
    for (auto& [name, k] : r.knobs) out.push_back(&k);
    return out;
}

std::string get(std::string_view name) {
    const Knob& k = knob_or_throw(name);
    {
        Registry& r = registry();
        std::lock_guard lock(r.mu);
        auto it = r.overrides.find(name);
        if (it != r.overrides.end()) return it->second;
    }
    if (const char* v = std::getenv(k.name.c_str())) {
        std::string value(v);
        validate(k, value, "environment variable");
        return value;
    }
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.presets.find(name);
    return it != r.presets.end() ? it->second.first : k.default_value;
}

void set_preset_value(std::string_view name, std::string value, std::string_view layer) {
    const Knob& k = knob_or_throw(name);
    validate(k, value, std::string(layer).c_str());
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.presets[std::string(name)] = {std::move(value), std::string(layer)};
}

void clear_preset_values() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.presets.clear();
}

std::string source(std::string_view name) {
    const Knob& k = knob_or_throw(name);
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    if (r.overrides.count(name)) return "flag";
    if (std::getenv(k.name.c_str())) return "environment";
    auto it = r.presets.find(name);
    return it != r.presets.end() ? it->second.second : "default";
}

int64_t get_int(std::string_view name) {
    const Knob& k = knob_or_throw(name);
    auto v = parse_int(get(name));
    PG_CHECK(v.has_value(), "setting {} must be an integer", k.name);
    return *v;
}

double get_float(std::string_view name) {
    const Knob& k = knob_or_throw(name);
    auto v = parse_float(get(name));
    PG_CHECK(v.has_value(), "setting {} must be a number", k.name);
    return *v;
}

bool get_bool(std::string_view name) {
    const Knob& k = knob_or_throw(name);
    auto v = parse_bool(get(name));
    PG_CHECK(v.has_value(), "setting {} must be 0 or 1", k.name);
    return *v;
}

void set_override(std::string_view name, std::string value) {
    const Knob& k = knob_or_throw(name);
    validate(k, value, "flag");
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.overrides[std::string(name)] = std::move(value);
}

void clear_override(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.overrides.find(name);
    if (it != r.overrides.end()) r.overrides.erase(it);
}

std::string codegen_digest_input() {
    std::string out;
    for (const Knob* k : all())
        if (k->affects_codegen) out += k->name + "=" + get(k->name) + ";";
    return out;
}

ScopedOverride::ScopedOverride(std::string_view name, std::string value) : name_(name) {
    Registry& r = registry();
    {
        std::lock_guard lock(r.mu);
        auto it = r.overrides.find(name);
        had_previous_ = it != r.overrides.end();
        if (had_previous_) previous_ = it->second;
    }
    set_override(name, std::move(value));
}

ScopedOverride::~ScopedOverride() {
    if (had_previous_)
        set_override(name_, previous_);
    else
        clear_override(name_);
}

}  // namespace pg::env
