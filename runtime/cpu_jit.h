// CpuProgram: a set of kir kernels compiled for the host CPU with LLVM and loaded into one ORC
// LLJIT. Kernels are rendered (codegen/llvm), optimised with the O3 pipeline (loop and SLP
// vectorization) and emitted as object code in parallel on the thread pool, each worker with its
// own LLVMContext and TargetMachine; objects come from the kernel cache when their KernelKey was
// seen before. The program owns the JIT: kernel pointers stay valid while it lives.
// With PG_DUMP_DIR set every kernel is compiled (cache lookups are skipped, results still stored)
// so that <dir>/<kernel>.kir and <dir>/<kernel>.ll (the optimised IR) are written for all of them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kir.h"

namespace pg {

// extern "C" void <name>(void** buffers, int64_t begin, int64_t end) (see kir.h).
using CpuKernelFn = void (*)(void**, int64_t, int64_t);

struct CpuCompileOptions {
    int opt_level = 3;         // 0..3: the new pass manager's O0..O3 pipeline
    std::string cpu;           // "" = the host CPU; e.g. "x86-64" for a portable binary
    std::string features;      // "" = the host CPU's features (when cpu is ""), else the CPU's own
    bool use_cache = true;     // the in-memory and on-disk kernel cache
};

struct CpuCompileStats {
    int kernels = 0;
    int cache_hits = 0;               // memory + disk
    int compiled = 0;                 // rendered, optimised and emitted here
    double seconds = 0;               // wall time of the whole compile, linking included
    double link_seconds = 0;          // adding objects to the JIT and resolving symbols
    double slowest_seconds = 0;       // the slowest single kernel compile
    std::string slowest_kernel;
};

// One line for PG_DEBUG output.
std::string to_string(const CpuCompileStats& s);

class CpuProgram {
public:
    // Verifies and compiles every kernel (names must be unique). Compile failures are
    // InternalErrors (the kir came from our own lowering).
    static std::unique_ptr<CpuProgram> compile(const std::vector<kir::Kernel>& kernels,
                                               const CpuCompileOptions& options = {});
    ~CpuProgram();
    CpuProgram(const CpuProgram&) = delete;
    CpuProgram& operator=(const CpuProgram&) = delete;

    size_t size() const { return fns_.size(); }
    // The entry point of kernels[i].
    CpuKernelFn fn(size_t i) const;
    const CpuCompileStats& stats() const { return stats_; }

    // The target description that enters kernel keys: triple, CPU and sorted features.
    static std::string target_string(const CpuCompileOptions& options);

private:
    CpuProgram();
    struct Jit;
    std::unique_ptr<Jit> jit_;
    std::vector<CpuKernelFn> fns_;
    CpuCompileStats stats_;
};

}  // namespace pg
