// Whether the CUDA family is usable here, without throwing: for `pgolf compile`'s banner, for the
// GPU tests' skip messages, and for choosing a backend. Each probe loads its library on first use
// (see cuda_api.h); a failure is reported as the same message the loader would throw.
#pragma once
#include <string>

namespace pg {

struct LibraryStatus {
    bool ok = false;
    std::string detail;  // "<path> (version)" when ok, else why not and what to do
};

LibraryStatus cuda_driver_status();  // libcuda.so.1 loads, cuInit succeeds and a device exists
LibraryStatus nvrtc_status();
LibraryStatus nccl_status();

// "" when a CUDA device can run kernels, else the reason.
std::string cuda_unavailable_reason();

// Throws pg::Error when the driver cannot load this NVRTC's cubins (cuda_compat.h), naming both
// versions and what to install; prints the path taken to stderr once when it is worth a note.
// Called before the first cubin is loaded.
void check_nvrtc_runs_on_driver();

// "13.0" (NVRTC's version), or throws pg::Error when NVRTC cannot be loaded.
std::string nvrtc_version();

}  // namespace pg
