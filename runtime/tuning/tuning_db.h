// TuningDb: the tuning database, a readable JSON file of decisions, never binaries, keyed by
// device (device_id.h) and then by workload (codegen/workload.h):
//
//   {"format": 1,
//    "devices": {
//      "cpu AMD EPYC 7B13 / znver3 / 2 threads / features 3fa9c2e1a0b2": {
//        "device":  {"model": "AMD EPYC 7B13", "threads": "2", ...},
//        "kernels": {"loop mul f32 [4,32] kir 0a1b...": {"config": {"kind": "cpu_loop", "threads": 1},
//                                                       "default_us": 21.0, "tuned_us": 6.5}},
//        "matmuls": {"matmul f32 [64,32]x[32,96]": {"library": false, "default_us": 30.1, "tuned_us": 11.2}}}}}
//
// Its path is PG_TUNE_DB (default: tuning.json in the kernel cache's directory); PG_TUNE=off makes
// the trainer, `pgolf compile` and `pgolf bench` ignore it. A file that cannot be parsed gets one
// warning naming it and is treated as empty (`pgolf tune` then replaces it); a record whose
// configuration cannot be rendered is skipped with a warning. Saving is atomic (temp + rename).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "codegen/kernel_config.h"
#include "runtime/session.h"
#include "runtime/tuning/device_id.h"

namespace pg {

// Times are microseconds per run: the heuristic's and the winner's, for the reader's benefit.
struct KernelRecord {
    KernelConfig config;
    double default_us = 0, tuned_us = 0;
};

struct MatmulRecord {
    bool library = true;
    double default_us = 0, tuned_us = 0;
};

class TuningDb {
public:
    // PG_TUNE_DB, else <kernel cache directory>/tuning.json; "" when neither exists.
    static std::string default_path();
    // Whether PG_TUNE allows using the database.
    static bool enabled();

    // A missing file is an empty database; a corrupt one is warned about (once per path) and
    // treated as empty, and corrupt() says so.
    static TuningDb load(const std::string& path);
    // Writes the database atomically; throws pg::Error naming the path when that fails.
    void save(const std::string& path) const;

    bool corrupt() const { return corrupt_; }
    std::shared_ptr<const TunedDecisions> decisions(const DeviceIdentity& device) const;
    const KernelRecord* find_kernel(const DeviceIdentity& device, const std::string& workload) const;
    const MatmulRecord* find_matmul(const DeviceIdentity& device, const std::string& workload) const;
    void set_kernel(const DeviceIdentity& device, const std::string& workload, KernelRecord record);
    void set_matmul(const DeviceIdentity& device, const std::string& workload, MatmulRecord record);
    size_t size() const;  // records over all devices

private:
    struct Section {
        std::map<std::string, std::string> device;
        std::map<std::string, KernelRecord> kernels;
        std::map<std::string, MatmulRecord> matmuls;
    };
    Section& section(const DeviceIdentity& device);

    std::map<std::string, Section> devices_;
    bool corrupt_ = false;
};

// The decisions that compile_executable attaches to its target: the database at default_path()
// for the session's device, or null when PG_TUNE=off, there is no database or it holds nothing
// for this device.
std::shared_ptr<const TunedDecisions> tuned_decisions(const Session& session);

}  // namespace pg
