// The host as a Device: aligned host memory and memcpy (see device.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "runtime/device.h"

namespace pg {

namespace {

// 64 bytes: a cache line and the widest vector (AVX-512). The 256-byte slack of the Device
// contract is for the GPU's narrow atomics; host kernels never touch past a buffer's end.
constexpr size_t kAlign = 64;

class CpuDevice final : public Device {
public:
    TargetKind kind() const override { return TargetKind::Cpu; }
    std::string name() const override { return "cpu"; }
    uint64_t alloc(size_t bytes) override {
        size_t size = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
        void* p = std::aligned_alloc(kAlign, size);
        PG_CHECK(p != nullptr, "out of host memory allocating {} bytes", size);
        std::memset(p, 0, size);
        return reinterpret_cast<uint64_t>(p);
    }
    void free(uint64_t address) noexcept override { std::free(reinterpret_cast<void*>(address)); }
    void upload(uint64_t dst, const void* src, size_t bytes) override {
        std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
    }
    void download(void* dst, uint64_t src, size_t bytes) override {
        std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
    }
    void fill_zero(uint64_t dst, size_t bytes) override { std::memset(reinterpret_cast<void*>(dst), 0, bytes); }
    void synchronize() override {}
};

}  // namespace

std::unique_ptr<Device> make_cpu_device() { return std::make_unique<CpuDevice>(); }

}  // namespace pg
