// Executable: the backend-neutral face of a compiled graph (CPU: CpuExecutable, CUDA:
// CudaExecutable), so that the trainer and the evaluator drive either one. PG_BACKEND picks the
// backend: "auto" (CUDA when a device is usable, else CPU), "cpu" or "cuda".
#pragma once
#include <memory>
#include <string>

#include "graph/graph.h"
#include "graph/tensor_data.h"

namespace pg {

class Executable {
public:
    virtual ~Executable() = default;

    virtual void set(const std::string& leaf, const HostTensor& value) = 0;
    virtual void set_scalar(const std::string& name, double value) = 0;
    virtual bool has_leaf(const std::string& name) const = 0;
    virtual HostTensor get(const std::string& name) const = 0;
    virtual void run() = 0;

    virtual std::string backend() const = 0;  // "cpu" or "cuda (<device name>)"
    // One line: kernels per step by kind, arena size, compile time.
    virtual std::string summary() const = 0;
    // Per-kernel profile where the backend records one (PG_PROFILE=1 on CPU), else "".
    virtual std::string profile_report(int top) const = 0;
};

// Compiles `g` for the backend PG_BACKEND selects. Throws pg::Error when PG_BACKEND=cuda and no
// device is usable (the message says why: no driver, no device).
std::unique_ptr<Executable> make_executable(const Graph& g);

// The backend make_executable would use now ("cpu" or "cuda"), probing the device once.
std::string selected_backend();

}  // namespace pg
