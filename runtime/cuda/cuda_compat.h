// Whether the installed NVIDIA driver can run what this NVRTC produces, decided from the two
// version numbers alone (a pure function, so that every case is unit-tested without a GPU).
//
// pgolf hands the driver cubins (SASS compiled ahead by NVRTC's ptxas), never PTX: a driver can
// only JIT PTX of its own CUDA version or older, while a cubin for the exact GPU loads on any
// driver of the same CUDA major version or newer (CUDA's minor-version compatibility). So:
//   NVRTC major <= driver major  -> compatible (cubins); a newer minor within the major is fine;
//   NVRTC major >  driver major  -> refused: the driver cannot load the cubins (for example NVRTC
//                                   13 on a CUDA 12 driver); use libnvrtc.so.<driver major> or
//                                   update the driver.
// The loader (cuda_api.cpp) prefers the NVRTC sonames the driver can serve, so the refusal only
// happens when no compatible NVRTC is installed.
#pragma once
#include <string>

namespace pg::cuda {

struct NvrtcDriverCompat {
    bool ok = true;
    std::string message;  // why not, and what to do; or a note on the path taken; "" when nothing to say
};

// driver_version as cuDriverGetVersion gives it (12040 = CUDA 12.4); 0 = no driver (compile only).
NvrtcDriverCompat nvrtc_driver_compat(int nvrtc_major, int nvrtc_minor, int driver_version);

// The highest NVRTC major version the driver can serve (its own CUDA major); 0 = no constraint.
int max_nvrtc_major(int driver_version);

}  // namespace pg::cuda
