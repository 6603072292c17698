// The GPU candidate runner (see cuda_step_runner.h).
#include "runtime/tuning/cuda_step_runner.h"

#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"
#include "runtime/tuning/tuning_inputs.h"

namespace pg {
namespace {

class GpuRunner final : public CudaCandidateRunner {
public:
    GpuRunner(const Graph& g, const Target& t)
        : session_(open_session("cuda")), exe_(*session_, g, t), device_(CudaDevice::get()),
          scratch_(device_.alloc(kFlushBytes)) {
        fill_tuning_inputs(exe_);
    }
    ~GpuRunner() override { device_.free(scratch_); }

    const ExecPlan& plan() const override { return exe_.plan(); }

    void run(size_t i, const KernelConfig& config) override {
        exe_.run_step(i, config);
        exe_.synchronize();
    }

    double timed_run_ms(size_t i, const KernelConfig& config, bool flush) override {
        if (flush) device_.fill_zero(scratch_, kFlushBytes);
        CudaEvent start(device_), stop(device_);
        start.record();
        exe_.run_step(i, config);
        stop.record();
        stop.synchronize();
        return stop.elapsed_ms(start);
    }

    HostTensor output(size_t i) override { return exe_.step_output(i); }

private:
    std::unique_ptr<Session> session_;
    CudaExecutable exe_;
    CudaDevice& device_;
    DevicePtr scratch_;
};

}  // namespace

std::unique_ptr<CudaCandidateRunner> cuda_step_runner(const Graph& g, const Target& target) {
    return std::make_unique<GpuRunner>(g, target);
}

}  // namespace pg
