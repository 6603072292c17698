// Checkpoint: typed metadata accessors, save/load through the safetensors writer/reader, and the
// check that a set of tensors fits a model's parameter specs.
#include "frontend/export/checkpoint.h"

#include <charconv>
#include <system_error>

#include <fmt/ranges.h>

#include "base/digest.h"
#include "base/error.h"
#include "frontend/module.h"

namespace pg::io {

namespace fs = std::filesystem;

namespace {

std::string where(const Checkpoint& c) { return c.source.empty() ? std::string("checkpoint") : c.source; }

template <typename T>
T parse_number(const Checkpoint& c, std::string_view key, std::string_view text, const char* kind) {
    T value{};
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    PG_CHECK(ec == std::errc() && ptr == end && !text.empty(),
             "{}: metadata '{}' is '{}', expected {}; the checkpoint is corrupt or from another program", where(c),
             key, text, kind);
    return value;
}

}  // namespace

void Checkpoint::set_int(std::string_view key, int64_t value) { set(key, std::to_string(value)); }
void Checkpoint::set_uint(std::string_view key, uint64_t value) { set(key, std::to_string(value)); }
void Checkpoint::set_double(std::string_view key, double value) { set(key, fmt::format("{}", value)); }

void Checkpoint::set_ints(std::string_view key, const std::vector<int64_t>& values) {
    set(key, fmt::format("{}", fmt::join(values, ",")));
}

const std::string& Checkpoint::get(std::string_view key) const {
    auto it = meta.find(std::string(key));
    PG_CHECK(it != meta.end(), "{}: metadata '{}' is missing; the checkpoint was written by a trainer that did not "
                               "record it",
             where(*this), key);
    return it->second;
}

int64_t Checkpoint::get_int(std::string_view key) const {
    return parse_number<int64_t>(*this, key, get(key), "an integer");
}

uint64_t Checkpoint::get_uint(std::string_view key) const {
    return parse_number<uint64_t>(*this, key, get(key), "an unsigned integer");
}

double Checkpoint::get_double(std::string_view key) const {
    return parse_number<double>(*this, key, get(key), "a number");
}

std::vector<int64_t> Checkpoint::get_ints(std::string_view key) const {
    const std::string& text = get(key);
    std::vector<int64_t> out;
    if (text.empty()) return out;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string_view item = std::string_view(text).substr(start, comma == std::string::npos ? std::string::npos
                                                                                                      : comma - start);
        out.push_back(parse_number<int64_t>(*this, key, item, "a comma-separated list of integers"));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

void Checkpoint::set_config(const std::map<std::string, std::string>& config) {
    for (const auto& [k, v] : config) set(std::string(kConfigPrefix) + k, v);
}

std::map<std::string, std::string> Checkpoint::config() const {
    std::map<std::string, std::string> out;
    for (auto it = meta.lower_bound(std::string(kConfigPrefix)); it != meta.end() && it->first.starts_with(kConfigPrefix);
         ++it)
        out[it->first.substr(kConfigPrefix.size())] = it->second;
    return out;
}

std::string checkpoint_digest(const TensorMap& tensors, const MetaMap& meta) {
    std::string text;
    for (const auto& [key, value] : meta) text += fmt::format("meta {}={}\n", key, value);
    for (const auto& [name, t] : tensors) {
        std::string_view bytes(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
        text += fmt::format("tensor {} {} {} {:016x}\n", name, dtype_name(t.dtype), shape_str(t.shape),
                            checksum64(bytes));
    }
    return sha256_hex(text);
}

void save_checkpoint(const fs::path& path, const Checkpoint& checkpoint) {
    for (std::string_view key : {kFormatKey, kDigestKey})
        PG_CHECK(!checkpoint.has(key), "cannot write {}: metadata key '{}' is reserved for the file format",
                 path.string(), key);
    MetaMap meta = checkpoint.meta;
    meta[std::string(kFormatKey)] = std::string(kFormatValue);
    meta[std::string(kDigestKey)] = checkpoint_digest(checkpoint.tensors, meta);
    write_safetensors(path, checkpoint.tensors, meta);
}

namespace {

// Removes the digest from `file`'s metadata and checks it against the content (the format key
// is still in the metadata, as when the digest was computed).
void verify_digest(const fs::path& path, SafetensorsFile& file) {
    auto it = file.metadata.find(std::string(kDigestKey));
    if (it == file.metadata.end()) return;  // written before digests existed
    std::string recorded = it->second;
    file.metadata.erase(it);
    PG_CHECK(checkpoint_digest(file.tensors, file.metadata) == recorded,
             "{} is corrupt: its content does not match the digest recorded when it was written (a damaged or "
             "partly overwritten file); resume from an older checkpoint",
             path.string());
}

}  // namespace

Checkpoint load_checkpoint(const fs::path& path) {
    SafetensorsFile file = read_safetensors(path);
    auto it = file.metadata.find(std::string(kFormatKey));
    PG_CHECK(it != file.metadata.end(),
             "{} is a safetensors file but not a pgolf checkpoint (its metadata has no '{}'); weights exported "
             "from PyTorch can be evaluated with `pgolf eval --model` but not resumed",
             path.string(), kFormatKey);
    PG_CHECK(it->second == kFormatValue,
             "{} has checkpoint format '{}', but this pgolf reads '{}'; use the pgolf version that wrote it",
             path.string(), it->second, kFormatValue);
    verify_digest(path, file);
    file.metadata.erase(std::string(kFormatKey));
    Checkpoint c;
    c.tensors = std::move(file.tensors);
    c.meta = std::move(file.metadata);
    c.source = path.string();
    return c;
}

bool is_optimizer_state(std::string_view name) {
    // Adam / Muon state, and the weight averages of frontend/train/weight_averaging.h.
    for (std::string_view suffix : {".exp_avg", ".exp_avg_sq", ".momentum_buffer", ".ema", ".swa_sum"})
        if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
    return name == "swa_count";
}

TensorMap model_params(const TensorMap& tensors) {
    TensorMap out;
    for (const auto& [name, t] : tensors)
        if (!is_optimizer_state(name)) out.emplace(name, t);
    return out;
}

void check_tensors_match(const TensorMap& tensors, const std::vector<ParamSpec>& specs, std::string_view source,
                         bool include_state) {
    std::vector<std::string> problems;
    std::map<std::string, const ParamSpec*> expected;
    for (const ParamSpec& s : specs)
        if (include_state || s.group != "state") expected[s.name] = &s;
    for (const auto& [name, spec] : expected) {
        auto it = tensors.find(name);
        if (it == tensors.end()) {
            problems.push_back(fmt::format("missing '{}' ({} {})", name, dtype_name(spec->dtype), shape_str(spec->shape)));
        } else if (it->second.dtype != spec->dtype || it->second.shape != spec->shape) {
            problems.push_back(fmt::format("'{}' is {} {}, the model needs {} {}", name, dtype_name(it->second.dtype),
                                           shape_str(it->second.shape), dtype_name(spec->dtype),
                                           shape_str(spec->shape)));
        }
    }
    for (const auto& [name, t] : tensors) {
        if (expected.contains(name) || (!include_state && is_optimizer_state(name))) continue;
        problems.push_back(fmt::format("unexpected '{}' ({} {})", name, dtype_name(t.dtype), shape_str(t.shape)));
    }
    if (problems.empty()) return;
    constexpr size_t kShown = 12;
    std::string list;
    for (size_t i = 0; i < problems.size() && i < kShown; ++i) list += "\n  " + problems[i];
    if (problems.size() > kShown) list += fmt::format("\n  ... and {} more", problems.size() - kShown);
    throw Error(fmt::format("{} does not match the model ({} problems):{}\nCheck that the model configuration "
                            "(MODEL, NUM_LAYERS, MODEL_DIM, ...) is the one the file was written with",
                            source, problems.size(), list));
}

}  // namespace pg::io
