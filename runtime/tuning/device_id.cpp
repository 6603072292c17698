// Device identities for the tuning database (see device_id.h).
#include "runtime/tuning/device_id.h"

#include <fmt/format.h>

#include <fstream>

#include "base/digest.h"
#include "base/thread_pool.h"
#include "runtime/cpu_jit.h"
#include "runtime/cuda/cuda_api.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_libs.h"

namespace pg {
namespace {

std::string cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) != 0) continue;
        size_t colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
    return "unknown cpu";
}

}  // namespace

DeviceIdentity cpu_identity() {
    // target_string: "<triple>;<cpu>;<sorted features>" (runtime/cpu_jit.h).
    std::string target = CpuProgram::target_string({});
    size_t a = target.find(';'), b = target.find(';', a + 1);
    DeviceIdentity id;
    id.fields["model"] = cpu_model_name();
    id.fields["llvm_cpu"] = target.substr(a + 1, b - a - 1);
    id.fields["features"] = target.substr(b + 1);
    id.fields["threads"] = std::to_string(ThreadPool::global().num_threads());
    id.key = fmt::format("cpu {} / {} / {} threads / features {}", id.fields["model"], id.fields["llvm_cpu"],
                         id.fields["threads"], sha256_hex(id.fields["features"]).substr(0, 12));
    return id;
}

DeviceIdentity cuda_identity() {
    CudaDevice& dev = CudaDevice::get();
    DeviceIdentity id;
    id.fields["gpu"] = dev.name();
    id.fields["sm_count"] = std::to_string(dev.sm_count());
    id.fields["driver"] = std::to_string(cuda::driver().version);
    id.fields["nvrtc"] = nvrtc_version();
    id.key = fmt::format("cuda {} / {} SMs / driver {} / nvrtc {}", dev.name(), dev.sm_count(), id.fields["driver"],
                         id.fields["nvrtc"]);
    return id;
}

DeviceIdentity device_identity(const Session& session) {
    return session.device().kind() == TargetKind::Cuda ? cuda_identity() : cpu_identity();
}

}  // namespace pg
