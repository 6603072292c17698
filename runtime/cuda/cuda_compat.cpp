// NVRTC / driver version compatibility (see cuda_compat.h).
#include "runtime/cuda/cuda_compat.h"

#include <fmt/format.h>

namespace pg::cuda {

int max_nvrtc_major(int driver_version) { return driver_version / 1000; }

NvrtcDriverCompat nvrtc_driver_compat(int nvrtc_major, int nvrtc_minor, int driver_version) {
    if (driver_version <= 0) return {true, ""};
    int driver_major = driver_version / 1000, driver_minor = driver_version % 1000 / 10;
    if (nvrtc_major > driver_major)
        return {false, fmt::format("NVRTC {}.{} makes cubins that the NVIDIA driver (CUDA {}.{}) cannot load: a driver "
                                   "runs code of its own CUDA major version or older. Install NVRTC {} (the CUDA {} "
                                   "toolkit, or `pip install nvidia-cuda-nvrtc-cu{}`) and point CUDA_HOME at it, or "
                                   "update the driver to CUDA {} or newer",
                                   nvrtc_major, nvrtc_minor, driver_major, driver_minor, driver_major, driver_major,
                                   driver_major, nvrtc_major)};
    if (nvrtc_major == driver_major && nvrtc_minor > driver_minor)
        return {true, fmt::format("NVRTC {}.{} is newer than the driver (CUDA {}.{}): pgolf loads cubins (no PTX JIT), "
                                  "which CUDA's minor-version compatibility lets this driver run",
                                  nvrtc_major, nvrtc_minor, driver_major, driver_minor)};
    return {true, ""};
}

}  // namespace pg::cuda
