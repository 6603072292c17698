// The tuning database (see tuning_db.h).
#include "runtime/tuning/tuning_db.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "base/atomic_file.h"
#include "base/env.h"
#include "base/error.h"
#include "runtime/kernel_cache.h"
#include "runtime/tuning/config_json.h"

namespace pg {

PG_KNOB({.name = "PG_TUNE_DB", .kind = env::KnobKind::String, .default_value = "",
         .doc = "tuning database written by `pgolf tune` (\"\" = tuning.json in the kernel cache directory)"});
PG_KNOB({.name = "PG_TUNE", .kind = env::KnobKind::String, .default_value = "on",
         .doc = "off ignores the tuning database: every kernel takes the documented heuristic",
         .choices = {"on", "off"}});

namespace {

using Json = nlohmann::ordered_json;
constexpr int kFormat = 1;

// One warning per path and process: compile_executable loads the database for every graph.
void warn_once(const std::string& path, const std::string& what) {
    static std::mutex mu;
    static std::set<std::string> warned;
    std::lock_guard<std::mutex> lock(mu);
    if (!warned.insert(path + "\n" + what).second) return;
    fmt::print(stderr, "[pg] warning: tuning database {}: {}\n", path, what);
}

double number(const Json& j, const char* name) { return j.contains(name) && j[name].is_number() ? j[name].get<double>() : 0; }

Json timings(double default_us, double tuned_us) { return {{"default_us", default_us}, {"tuned_us", tuned_us}}; }

}  // namespace

std::string TuningDb::default_path() {
    std::string path = env::get("PG_TUNE_DB");
    if (!path.empty()) return path;
    std::string dir = KernelCache::directory();
    return dir.empty() ? "" : (std::filesystem::path(dir) / "tuning.json").string();
}

bool TuningDb::enabled() { return env::get("PG_TUNE") != "off"; }

TuningDb TuningDb::load(const std::string& path) {
    TuningDb db;
    std::ifstream in(path);
    if (path.empty() || !in) return db;
    std::stringstream text;
    text << in.rdbuf();
    Json j;
    try {
        j = Json::parse(text.str());
        PG_CHECK(j.is_object() && j.value("format", 0) == kFormat && j.contains("devices") && j["devices"].is_object(),
                 "not a format-{} tuning database (expected {{\"format\": {}, \"devices\": {{...}}}})", kFormat, kFormat);
    } catch (const std::exception& e) {
        warn_once(path, fmt::format("{}; ignoring it (delete it, or run `pgolf tune` to replace it)", e.what()));
        db.corrupt_ = true;
        return db;
    }
    for (const auto& [key, dev] : j["devices"].items()) {
        Section& s = db.devices_[key];
        // value() returns a copy: keep each alive while its items are iterated.
        const Json device = dev.value("device", Json::object());
        const Json kernels = dev.value("kernels", Json::object());
        const Json matmuls = dev.value("matmuls", Json::object());
        for (const auto& [name, value] : device.items())
            s.device[name] = value.is_string() ? value.get<std::string>() : value.dump();
        for (const auto& [workload, rec] : kernels.items()) {
            try {
                KernelRecord r{config_from_json(rec.at("config")), number(rec, "default_us"), number(rec, "tuned_us")};
                s.kernels[workload] = std::move(r);  // only once it parsed: [] would insert an empty record
            } catch (const std::exception& e) {
                warn_once(path, fmt::format("skipping the record of \"{}\": {}", workload, e.what()));
            }
        }
        for (const auto& [workload, rec] : matmuls.items()) {
            if (!rec.is_object() || !rec.contains("library") || !rec["library"].is_boolean()) {
                warn_once(path, fmt::format("skipping the record of \"{}\": no boolean \"library\"", workload));
                continue;
            }
            s.matmuls[workload] = {rec["library"].get<bool>(), number(rec, "default_us"), number(rec, "tuned_us")};
        }
    }
    return db;
}

void TuningDb::save(const std::string& path) const {
    PG_CHECK(!path.empty(), "no path for the tuning database: set PG_TUNE_DB or PG_CACHE_DIR");
    Json devices = Json::object();
    for (const auto& [key, s] : devices_) {
        Json kernels = Json::object(), matmuls = Json::object();
        for (const auto& [w, r] : s.kernels) {
            kernels[w] = timings(r.default_us, r.tuned_us);
            kernels[w]["config"] = config_to_json(r.config);
        }
        for (const auto& [w, r] : s.matmuls) {
            matmuls[w] = timings(r.default_us, r.tuned_us);
            matmuls[w]["library"] = r.library;
        }
        devices[key] = {{"device", s.device}, {"kernels", kernels}, {"matmuls", matmuls}};
    }
    Json j = {{"format", kFormat}, {"devices", devices}};
    std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    io::write_file_atomically(p, j.dump(2) + "\n", io::Durability::Atomic);
}

std::shared_ptr<const TunedDecisions> TuningDb::decisions(const DeviceIdentity& device) const {
    auto it = devices_.find(device.key);
    if (it == devices_.end()) return nullptr;
    auto d = std::make_shared<TunedDecisions>();
    for (const auto& [w, r] : it->second.kernels) d->kernels[w] = r.config;
    for (const auto& [w, r] : it->second.matmuls) d->matmul_on_library[w] = r.library;
    return d;
}

const KernelRecord* TuningDb::find_kernel(const DeviceIdentity& device, const std::string& workload) const {
    auto it = devices_.find(device.key);
    if (it == devices_.end()) return nullptr;
    auto r = it->second.kernels.find(workload);
    return r == it->second.kernels.end() ? nullptr : &r->second;
}

const MatmulRecord* TuningDb::find_matmul(const DeviceIdentity& device, const std::string& workload) const {
    auto it = devices_.find(device.key);
    if (it == devices_.end()) return nullptr;
    auto r = it->second.matmuls.find(workload);
    return r == it->second.matmuls.end() ? nullptr : &r->second;
}

TuningDb::Section& TuningDb::section(const DeviceIdentity& device) {
    Section& s = devices_[device.key];
    s.device = device.fields;
    return s;
}

void TuningDb::set_kernel(const DeviceIdentity& device, const std::string& workload, KernelRecord record) {
    section(device).kernels[workload] = std::move(record);
}

void TuningDb::set_matmul(const DeviceIdentity& device, const std::string& workload, MatmulRecord record) {
    section(device).matmuls[workload] = record;
}

size_t TuningDb::size() const {
    size_t n = 0;
    for (const auto& [key, s] : devices_) n += s.kernels.size() + s.matmuls.size();
    return n;
}

std::shared_ptr<const TunedDecisions> tuned_decisions(const Session& session) {
    if (!TuningDb::enabled()) return nullptr;
    std::string path = TuningDb::default_path();
    if (path.empty() || !std::filesystem::exists(path)) return nullptr;
    auto d = TuningDb::load(path).decisions(device_identity(session));
    return d && !d->empty() ? d : nullptr;
}

}  // namespace pg
