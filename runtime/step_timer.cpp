// Step timers on the CPU and CUDA devices (see step_timer.h).
#include "runtime/step_timer.h"

#include <chrono>

#include "runtime/cuda/cuda_device.h"

namespace pg {
namespace {

class HostClockTimer final : public StepTimer {
public:
    void start() override { t0_ = std::chrono::steady_clock::now(); }
    double stop_ms() override {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    }
    const char* clock() const override { return "host clock"; }

private:
    std::chrono::steady_clock::time_point t0_;
};

class CudaEventTimer final : public StepTimer {
public:
    explicit CudaEventTimer(CudaDevice& device) : start_(device), stop_(device) {}
    void start() override { start_.record(); }
    double stop_ms() override {
        stop_.record();
        stop_.synchronize();
        return stop_.elapsed_ms(start_);
    }
    const char* clock() const override { return "cuda events"; }

private:
    CudaEvent start_, stop_;
};

}  // namespace

std::unique_ptr<StepTimer> make_step_timer(const Session& session) {
    if (session.device().kind() == TargetKind::Cuda) return std::make_unique<CudaEventTimer>(CudaDevice::get());
    return std::make_unique<HostClockTimer>();
}

}  // namespace pg
