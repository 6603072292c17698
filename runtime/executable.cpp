// Backend selection and the two Executable adapters (see executable.h).
#include "runtime/executable.h"

#include <fmt/format.h>

#include "runtime/cpu_executable.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace pg {

PG_KNOB({.name = "PG_BACKEND", .kind = env::KnobKind::String, .default_value = "auto",
         .doc = "where graphs run: auto (CUDA when a GPU is usable, else CPU), cpu or cuda",
         .choices = {"auto", "cpu", "cuda"}});

namespace {

class CpuBackend final : public Executable {
public:
    explicit CpuBackend(const Graph& g) : exe_(g) {}
    void set(const std::string& leaf, const HostTensor& v) override { exe_.set(leaf, v); }
    void set_scalar(const std::string& name, double v) override { exe_.set_scalar(name, v); }
    bool has_leaf(const std::string& name) const override { return exe_.has_leaf(name); }
    HostTensor get(const std::string& name) const override { return exe_.get(name); }
    void run() override { exe_.run(); }
    std::string backend() const override { return "cpu"; }
    std::string summary() const override {
        const CpuPlanStats& s = exe_.stats();
        return fmt::format("kernels/step:{} (loop {}, blas {}, scatter {}) arena:{:.1f}MiB compile:{:.2f}s ({} cached)",
                           s.launches(), s.loop_kernels, s.blas_calls, s.scatter_kernels, s.arena_bytes / 1048576.0,
                           s.compile_seconds, s.cache_hits);
    }
    std::string profile_report(int top) const override {
        return env::get_bool("PG_PROFILE") ? exe_.profile_report(top) : "";
    }

private:
    CpuExecutable exe_;
};

class CudaBackend final : public Executable {
public:
    explicit CudaBackend(const Graph& g) : exe_(g) {}
    void set(const std::string& leaf, const HostTensor& v) override { exe_.set(leaf, v); }
    void set_scalar(const std::string& name, double v) override { exe_.set_scalar(name, v); }
    bool has_leaf(const std::string& name) const override { return exe_.has_leaf(name); }
    HostTensor get(const std::string& name) const override { return exe_.get(name); }
    void run() override { exe_.run(); }
    std::string backend() const override { return fmt::format("cuda ({})", CudaDevice::get().name()); }
    std::string summary() const override {
        const CudaPlanStats& s = exe_.stats();
        return fmt::format("launches/step:{} (loop {}, gemm {}, scatter {}) arena:{:.1f}MiB plan:{:.2f}s cuda_graph:{}",
                           s.launches, s.loop_kernels, s.gemm_kernels, s.scatter_kernels, s.arena_bytes / 1048576.0,
                           s.plan_seconds, exe_.uses_graph() ? 1 : 0);
    }
    std::string profile_report(int) const override { return ""; }

private:
    CudaExecutable exe_;
};

// Whether a CUDA device can be opened, probed once (the probe's error is kept for messages).
const std::string& cuda_probe_error() {
    static const std::string error = [] {
        try {
            CudaDevice::get();
            return std::string();
        } catch (const Error& e) {
            return std::string(e.what());
        }
    }();
    return error;
}

}  // namespace

std::string selected_backend() {
    std::string b = env::get("PG_BACKEND");
    if (b == "auto") return cuda_probe_error().empty() ? "cuda" : "cpu";
    return b;
}

std::unique_ptr<Executable> make_executable(const Graph& g) {
    std::string b = selected_backend();
    if (b == "cuda") {
        PG_CHECK(cuda_probe_error().empty(), "PG_BACKEND=cuda but no CUDA device is usable: {} (use PG_BACKEND=cpu)",
                 cuda_probe_error());
        return std::make_unique<CudaBackend>(g);
    }
    return std::make_unique<CpuBackend>(g);
}

}  // namespace pg
