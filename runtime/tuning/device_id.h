// DeviceIdentity: what a tuned decision is valid for. Timings, and so the best configuration,
// change with the processor and the software that generates its code:
//   CPU:  the model name (/proc/cpuinfo), LLVM's name for it and its features (the JIT's target)
//         and the pool's thread count (a thread split tuned for 2 threads is wrong for 16);
//   CUDA: the GPU's name, its SM count, the driver's and NVRTC's versions.
// `key` is one line (the tuning database's section name; features enter as a digest), `fields`
// the readable details stored beside it.
#pragma once
#include <map>
#include <string>

#include "runtime/session.h"

namespace pg {

struct DeviceIdentity {
    std::string key;                            // "cpu AMD EPYC 7B13 / znver3 / 2 threads / features 3fa9c2e1a0b2"
    std::map<std::string, std::string> fields;  // "model", "llvm_cpu", "features", "threads", ...
};

DeviceIdentity cpu_identity();
// Throws pg::Error when no CUDA device is usable.
DeviceIdentity cuda_identity();
DeviceIdentity device_identity(const Session& session);

}  // namespace pg
