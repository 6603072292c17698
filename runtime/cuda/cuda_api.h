// dlopen tables of the CUDA family: the Driver API (libcuda.so.1), NVRTC (libnvrtc.so.13/.12)
// and NCCL (libnccl.so.2), and the PG_CU / PG_NVRTC / PG_NCCL error macros. Nothing is linked:
// a library is loaded on first use, so the binary runs its CPU path where none is installed, and
// a missing library or device is a pg::Error that says what was looked for and what to do.
//
// Internal to runtime/cuda/: this header includes the toolkit's headers (cuda.h, nvrtc.h,
// nccl.h), which only pg_runtime has on its include path. Public headers of runtime/cuda/ use
// opaque handles instead.
//
// Table members are declared as decltype(&::cuFoo) cuFoo, and cuda.h maps versioned entry points
// by macro (cuMemAlloc -> cuMemAlloc_v2), so a member and the symbol it is loaded from always
// have the version and signature of the headers pgolf was built with.
#pragma once
#if !__has_include(<cuda.h>) || !__has_include(<nvrtc.h>) || !__has_include(<nccl.h>)
#error "pgolf needs the CUDA toolkit headers (cuda.h, nvrtc.h, nccl.h) at build time: install the CUDA toolkit or set CUDA_HOME, then re-run cmake"
#endif
#include <cuda.h>
#include <nccl.h>
#include <nvrtc.h>

#include <string>

namespace pg::cuda {

#define PG_CU_REQUIRED(X)                                                                                    \
    X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGetCount) X(cuDeviceGet) \
    X(cuDeviceGetName) X(cuDeviceGetAttribute) X(cuDeviceTotalMem) X(cuDevicePrimaryCtxRetain)               \
    X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent) X(cuCtxSynchronize) X(cuMemGetInfo) X(cuMemAlloc)        \
    X(cuMemFree) X(cuMemcpyHtoDAsync) X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync) X(cuMemsetD8Async)           \
    X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) X(cuFuncGetAttribute) X(cuLaunchKernel)     \
    X(cuFuncSetAttribute)                                                                                    \
    X(cuStreamCreate) X(cuStreamDestroy) X(cuStreamSynchronize) X(cuStreamWaitEvent)                         \
    X(cuStreamBeginCapture) X(cuStreamEndCapture) X(cuGraphInstantiate) X(cuGraphLaunch)                     \
    X(cuGraphExecDestroy) X(cuGraphDestroy) X(cuEventCreate) X(cuEventRecord) X(cuEventSynchronize)          \
    X(cuEventDestroy)
// Entry points newer than some drivers pgolf may meet: null when absent.
#define PG_CU_OPTIONAL(X) X(cuEventElapsedTime)

#define PG_NVRTC_FUNCTIONS(X)                                                                         \
    X(nvrtcGetErrorString) X(nvrtcVersion) X(nvrtcGetNumSupportedArchs) X(nvrtcGetSupportedArchs)     \
    X(nvrtcCreateProgram) X(nvrtcDestroyProgram) X(nvrtcCompileProgram) X(nvrtcGetCUBINSize)          \
    X(nvrtcGetCUBIN) X(nvrtcGetProgramLogSize) X(nvrtcGetProgramLog)

#define PG_NCCL_FUNCTIONS(X)                                                                          \
    X(ncclGetVersion) X(ncclGetErrorString) X(ncclGetUniqueId) X(ncclCommInitRank) X(ncclCommDestroy) \
    X(ncclCommAbort) X(ncclCommGetAsyncError) X(ncclAllReduce) X(ncclGroupStart) X(ncclGroupEnd)     \
    X(ncclReduceScatter) X(ncclAllGather) X(ncclBroadcast)

#define PG_API_MEMBER(name) decltype(&::name) name = nullptr;

struct DriverApi {
    PG_CU_REQUIRED(PG_API_MEMBER)
    PG_CU_OPTIONAL(PG_API_MEMBER)
    std::string path;
    int version = 0;  // cuDriverGetVersion: 13000 = CUDA 13.0
};

struct NvrtcApi {
    PG_NVRTC_FUNCTIONS(PG_API_MEMBER)
    std::string path;
    int major = 0, minor = 0;
};

struct NcclApi {
    PG_NCCL_FUNCTIONS(PG_API_MEMBER)
    std::string path;
    int version = 0;  // ncclGetVersion: 22803 = 2.28.3
};

#undef PG_API_MEMBER

// Loaded (and for the driver, cuInit'ed) on first use; throws pg::Error naming the library, the
// places searched and what to install when it cannot be loaded. Thread-safe.
const DriverApi& driver();
const NvrtcApi& nvrtc();
const NcclApi& nccl();

[[noreturn]] void throw_cu(CUresult r, const char* call, const char* file, int line);
[[noreturn]] void throw_nvrtc(nvrtcResult r, const char* call, const char* file, int line);
[[noreturn]] void throw_nccl(ncclResult_t r, const char* call, const char* file, int line);

// A failed NVRTC compile of our own generated code (a pgolf bug): InternalError with the
// compiler's log and the path the source was written to (PG_DUMP_DIR, else a temp directory).
[[noreturn]] void throw_nvrtc_compile(nvrtcResult r, nvrtcProgram prog, const std::string& source,
                                      const std::string& label, const char* file, int line);

// The log of a compiled program.
std::string nvrtc_log(nvrtcProgram prog);

}  // namespace pg::cuda

// Call through the tables and check: PG_CU(cuMemAlloc, &ptr, bytes).
#define PG_CU(fn, ...)                                                                                 \
    do {                                                                                               \
        CUresult pg_cu_result_ = ::pg::cuda::driver().fn(__VA_ARGS__);                                 \
        if (pg_cu_result_ != CUDA_SUCCESS)                                                             \
            ::pg::cuda::throw_cu(pg_cu_result_, #fn "(" #__VA_ARGS__ ")", __FILE__, __LINE__);        \
    } while (0)
#define PG_NVRTC(fn, ...)                                                                              \
    do {                                                                                               \
        nvrtcResult pg_nvrtc_result_ = ::pg::cuda::nvrtc().fn(__VA_ARGS__);                            \
        if (pg_nvrtc_result_ != NVRTC_SUCCESS)                                                         \
            ::pg::cuda::throw_nvrtc(pg_nvrtc_result_, #fn "(" #__VA_ARGS__ ")", __FILE__, __LINE__);  \
    } while (0)
#define PG_NCCL(fn, ...)                                                                               \
    do {                                                                                               \
        ncclResult_t pg_nccl_result_ = ::pg::cuda::nccl().fn(__VA_ARGS__);                             \
        if (pg_nccl_result_ != ncclSuccess)                                                            \
            ::pg::cuda::throw_nccl(pg_nccl_result_, #fn "(" #__VA_ARGS__ ")", __FILE__, __LINE__);    \
    } while (0)
