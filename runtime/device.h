// Device: the memory side of a backend, where a session's persistent tensors and an executable's
// private leaves and arena live. Addresses are 64-bit integers: host pointers on the CPU, device
// pointers (CUdeviceptr) on a GPU. upload/download are the only host<->device crossings; the
// session counts them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "codegen/target.h"

namespace pg {

class Device {
public:
    virtual ~Device() = default;
    virtual TargetKind kind() const = 0;
    virtual std::string name() const = 0;  // "cpu", "cuda (NVIDIA H100 80GB HBM3)"
    // Zero-filled and aligned for the device's widest access (CPU: 64 bytes; GPU: 256, with 256
    // bytes of slack after the end, since a narrow atomic updates its whole 32-bit word). Throws
    // pg::Error when out of memory.
    virtual uint64_t alloc(size_t bytes) = 0;
    virtual void free(uint64_t address) noexcept = 0;
    virtual void upload(uint64_t dst, const void* src, size_t bytes) = 0;
    virtual void download(void* dst, uint64_t src, size_t bytes) = 0;
    virtual void fill_zero(uint64_t dst, size_t bytes) = 0;
    virtual void synchronize() = 0;
};

std::unique_ptr<Device> make_cpu_device();

}  // namespace pg
