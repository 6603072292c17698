// CUDA library probes (see cuda_libs.h).
#include "runtime/cuda/cuda_libs.h"

#include <fmt/format.h>

#include <mutex>

#include "base/error.h"
#include "runtime/cuda/cuda_api.h"
#include "runtime/cuda/cuda_compat.h"

namespace pg {

LibraryStatus cuda_driver_status() {
    try {
        const cuda::DriverApi& d = cuda::driver();
        int count = 0;
        PG_CU(cuDeviceGetCount, &count);
        if (count < 1) return {false, "the NVIDIA driver reports no CUDA device"};
        return {true, fmt::format("{} (driver CUDA {}.{}, {} device{})", d.path, d.version / 1000, d.version % 1000 / 10,
                                  count, count == 1 ? "" : "s")};
    } catch (const Error& e) {
        return {false, e.what()};
    }
}

LibraryStatus nvrtc_status() {
    try {
        const cuda::NvrtcApi& n = cuda::nvrtc();
        return {true, fmt::format("{} (NVRTC {}.{})", n.path, n.major, n.minor)};
    } catch (const Error& e) {
        return {false, e.what()};
    }
}

LibraryStatus nccl_status() {
    try {
        const cuda::NcclApi& n = cuda::nccl();
        return {true, fmt::format("{} (NCCL {}.{}.{})", n.path, n.version / 10000, n.version / 100 % 100, n.version % 100)};
    } catch (const Error& e) {
        return {false, e.what()};
    }
}

std::string cuda_unavailable_reason() {
    LibraryStatus d = cuda_driver_status();
    if (!d.ok) return d.detail;
    LibraryStatus n = nvrtc_status();
    if (!n.ok) return n.detail;
    return "";
}

void check_nvrtc_runs_on_driver() {
    const cuda::NvrtcApi& n = cuda::nvrtc();
    cuda::NvrtcDriverCompat c = cuda::nvrtc_driver_compat(n.major, n.minor, cuda::driver().version);
    PG_CHECK(c.ok, "{} ({})", c.message, n.path);
    static std::once_flag noted;
    if (!c.message.empty()) std::call_once(noted, [&] { fmt::print(stderr, "pgolf: {}\n", c.message); });
}

std::string nvrtc_version() {
    const cuda::NvrtcApi& n = cuda::nvrtc();
    return fmt::format("{}.{}", n.major, n.minor);
}

}  // namespace pg
