// CudaProgram: a set of CUDA kernels compiled by NVRTC into cubins for one GPU architecture. No
// GPU is needed: `pgolf compile` and the test suite compile every kernel of a training step on a
// CPU-only machine.
//
// Kernels with identical sources compile once. The distinct ones are grouped into batches by
// their source digest (at most 8 batches, each one NVRTC program behind one copy of the prelude):
// one program costs ~80 ms of fixed front-end and ptxas start-up, so batching cuts a step's
// compile ~2x, while a changed kernel still recompiles only its own batch (an eighth of the
// kernels). Batches compile in parallel on the thread pool and are cached (KernelKey over
// the batch's source, arch, options, prelude and NVRTC version) as cubins behind a small
// per-entry ptxas report, so that registers and spills are known on a cache hit too.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_kernel.h"

namespace pg {

struct CudaCompileOptions {
    std::string arch;       // "sm_90a", "sm_80", ...; "" = PG_CUDA_ARCH, else the device's
    bool use_cache = true;  // the in-memory and on-disk kernel cache
};

// ptxas' report for one entry point (from --ptxas-options=-v).
struct CudaEntryReport {
    std::string entry;
    int registers = 0;
    int spill_stores = 0, spill_loads = 0;  // bytes
    int stack_bytes = 0;
    int shared_bytes = 0;  // static shared memory
};

struct CudaKernelReport {
    std::string name;
    int batch = 0;                         // index into the program's batches
    bool cache_hit = false;
    std::vector<CudaEntryReport> entries;  // one per launch
};

struct CudaCompileStats {
    std::string arch;
    int kernels = 0, distinct = 0, batches = 0;
    int cache_hits = 0;                // kernels whose batch came from the cache
    double seconds = 0;                // wall time of the whole compile
    double slowest_batch_seconds = 0;  // the slowest single NVRTC program
    int slowest_batch_kernels = 0;
    int max_registers = 0, spilling_entries = 0;  // over distinct entry points
};

// One line for PG_DEBUG output and `pgolf compile`.
std::string to_string(const CudaCompileStats& s);

class CudaProgram {
public:
    // Compiles every kernel (names must be unique). Failures to compile are InternalErrors with
    // the NVRTC log and the dumped source; an unusable arch is a pg::Error.
    static std::unique_ptr<CudaProgram> compile(const std::vector<CudaKernelSource>& kernels,
                                                const CudaCompileOptions& options = {});

    size_t size() const { return reports_.size(); }
    // The cubin holding kernels[i]'s entries (shared by the kernels of one batch).
    const std::string& cubin(size_t i) const { return *modules_.at(module_of_.at(i)); }
    // Index of kernels[i]'s cubin in modules(): load each module once.
    size_t module_of(size_t i) const { return module_of_.at(i); }
    size_t num_modules() const { return modules_.size(); }
    const std::string& module(size_t m) const { return *modules_.at(m); }
    const CudaKernelReport& report(size_t i) const { return reports_.at(i); }
    const CudaCompileStats& stats() const { return stats_; }

    // The arch NVRTC compiles for: `requested`, else PG_CUDA_ARCH, else the current device's
    // ("sm_90a" on Hopper), checked against what pgolf's kernels need (sm_80+) and what this
    // NVRTC supports.
    static std::string resolve_arch(const std::string& requested);
    // NVRTC options for an arch, exactly as they enter the kernel key.
    static std::vector<std::string> nvrtc_options(const std::string& arch);

private:
    std::vector<std::shared_ptr<const std::string>> modules_;
    std::vector<size_t> module_of_;
    std::vector<CudaKernelReport> reports_;
    CudaCompileStats stats_;
};

}  // namespace pg
