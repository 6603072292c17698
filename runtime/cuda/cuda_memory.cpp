// CudaDevice behind the Device interface (see cuda_memory.h).
#include "runtime/cuda/cuda_memory.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg {

namespace {

// Slack after every allocation: a narrow (8/16-bit) atomic updates its whole 32-bit word.
constexpr size_t kTailPadding = 256;

class CudaMemory final : public Device {
public:
    explicit CudaMemory(CudaDevice& device) : device_(device) {}
    TargetKind kind() const override { return TargetKind::Cuda; }
    std::string name() const override { return fmt::format("cuda ({})", device_.name()); }
    uint64_t alloc(size_t bytes) override {
        DevicePtr p = device_.alloc(bytes + kTailPadding);
        device_.fill_zero(p, bytes + kTailPadding);
        return p;
    }
    void free(uint64_t address) noexcept override {
        if (address == 0) return;
        try {
            device_.free(address);
        } catch (const Error&) {
            // A failed free at teardown leaves nothing to recover; the process keeps running.
        }
    }
    void upload(uint64_t dst, const void* src, size_t bytes) override { device_.upload(dst, src, bytes); }
    void download(void* dst, uint64_t src, size_t bytes) override { device_.download(dst, src, bytes); }
    void fill_zero(uint64_t dst, size_t bytes) override { device_.fill_zero(dst, bytes); }
    void synchronize() override { device_.synchronize(); }

private:
    CudaDevice& device_;
};

}  // namespace

std::unique_ptr<Device> make_cuda_memory(CudaDevice& device) { return std::make_unique<CudaMemory>(device); }

}  // namespace pg
