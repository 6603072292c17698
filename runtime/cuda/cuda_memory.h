// A GPU as a session's Device (runtime/device.h): device memory and copies on CudaDevice's stream.
#pragma once
#include <memory>

#include "runtime/cuda/cuda_device.h"
#include "runtime/device.h"

namespace pg {

std::unique_ptr<Device> make_cuda_memory(CudaDevice& device);

}  // namespace pg
