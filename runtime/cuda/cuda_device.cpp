// The Driver API device, modules and events (see cuda_device.h).
#include "runtime/cuda/cuda_device.h"

#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

#include "base/env.h"
#include "base/error.h"
#include "runtime/comm/launch_env.h"
#include "runtime/cuda/cuda_api.h"
#include "runtime/cuda/cuda_libs.h"

namespace pg {

PG_KNOB({.name = "PG_CUDA_DEVICE", .kind = env::KnobKind::Int, .default_value = "-1",
         .doc = "CUDA device ordinal (-1 = the launcher's local rank: LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK, "
                "SLURM_LOCALID; else 0)"});

namespace {

CUcontext ctx(void* c) { return static_cast<CUcontext>(c); }
CUstream stream_of(void* s) { return static_cast<CUstream>(s); }

int chosen_ordinal() {
    int64_t v = env::get_int("PG_CUDA_DEVICE");
    if (v >= 0) return static_cast<int>(v);
    return comm::launch_env().local_rank;
}

}  // namespace

CudaDevice& CudaDevice::get() {
    static std::once_flag once;
    static CudaDevice* device = nullptr;
    static std::string error;
    std::call_once(once, [] {
        try {
            device = new CudaDevice(chosen_ordinal());
        } catch (const Error& e) {
            error = e.what();
        }
    });
    if (!device) throw Error(error);
    return *device;
}

CudaDevice::CudaDevice(int ordinal) : ordinal_(ordinal) {
    int count = 0;
    PG_CU(cuDeviceGetCount, &count);
    PG_CHECK(ordinal >= 0 && ordinal < count, "CUDA device {} does not exist ({} device{} visible); set PG_CUDA_DEVICE",
             ordinal, count, count == 1 ? "" : "s");
    CUdevice dev = 0;
    PG_CU(cuDeviceGet, &dev, ordinal);
    device_ = dev;
    char name[256] = {};
    PG_CU(cuDeviceGetName, name, sizeof(name), dev);
    name_ = name;
    int major = 0, minor = 0;
    PG_CU(cuDeviceGetAttribute, &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    PG_CU(cuDeviceGetAttribute, &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    cc_ = major * 10 + minor;
    PG_CU(cuDeviceGetAttribute, &sm_count_, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
    PG_CU(cuDeviceGetAttribute, &max_shared_optin_, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev);
    size_t total = 0;
    PG_CU(cuDeviceTotalMem, &total, dev);
    total_memory_ = static_cast<int64_t>(total);
    CUcontext c = nullptr;
    PG_CU(cuDevicePrimaryCtxRetain, &c, dev);
    context_ = c;
    PG_CU(cuCtxSetCurrent, c);
    CUstream s = nullptr;
    PG_CU(cuStreamCreate, &s, CU_STREAM_NON_BLOCKING);
    stream_ = s;
}

std::string CudaDevice::arch() const {
    bool specific = cc_ == 90 || cc_ == 100;
    return fmt::format("sm_{}{}", cc_, specific ? "a" : "");
}

int64_t CudaDevice::free_memory() const {
    make_current();
    size_t free = 0, total = 0;
    PG_CU(cuMemGetInfo, &free, &total);
    return static_cast<int64_t>(free);
}

void CudaDevice::make_current() const { PG_CU(cuCtxSetCurrent, ctx(context_)); }

DevicePtr CudaDevice::alloc(size_t bytes) {
    make_current();
    CUdeviceptr p = 0;
    PG_CU(cuMemAlloc, &p, std::max<size_t>(bytes, 1));
    return static_cast<DevicePtr>(p);
}

void CudaDevice::free(DevicePtr p) {
    if (p == 0) return;
    make_current();
    PG_CU(cuMemFree, static_cast<CUdeviceptr>(p));
}

void CudaDevice::upload(DevicePtr dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    make_current();
    // From pageable memory the driver stages the data before returning, so `src` is reusable.
    PG_CU(cuMemcpyHtoDAsync, static_cast<CUdeviceptr>(dst), src, bytes, stream_of(stream_));
}

void CudaDevice::download(void* dst, DevicePtr src, size_t bytes) {
    if (bytes == 0) return;
    make_current();
    PG_CU(cuMemcpyDtoHAsync, dst, static_cast<CUdeviceptr>(src), bytes, stream_of(stream_));
    PG_CU(cuStreamSynchronize, stream_of(stream_));
}

void CudaDevice::copy(DevicePtr dst, DevicePtr src, size_t bytes) {
    if (bytes == 0 || dst == src) return;
    make_current();
    PG_CU(cuMemcpyDtoDAsync, static_cast<CUdeviceptr>(dst), static_cast<CUdeviceptr>(src), bytes, stream_of(stream_));
}

void CudaDevice::fill_zero(DevicePtr dst, size_t bytes) {
    if (bytes == 0) return;
    make_current();
    PG_CU(cuMemsetD8Async, static_cast<CUdeviceptr>(dst), 0, bytes, stream_of(stream_));
}

void CudaDevice::launch(void* function, const std::array<int64_t, 3>& grid, int block, void** args, int smem) {
    PG_ASSERT(grid[0] >= 1 && grid[0] <= INT32_MAX && grid[1] >= 1 && grid[1] <= 65535 && grid[2] >= 1 &&
                  grid[2] <= 65535 && block >= 1 && block <= 1024,
              "launch of {}x{}x{} blocks of {} threads", grid[0], grid[1], grid[2], block);
    make_current();
    PG_CU(cuLaunchKernel, static_cast<CUfunction>(function), static_cast<unsigned>(grid[0]),
          static_cast<unsigned>(grid[1]), static_cast<unsigned>(grid[2]), static_cast<unsigned>(block), 1u, 1u,
          static_cast<unsigned>(smem), stream_of(stream_), args, nullptr);
}

void CudaDevice::allow_dynamic_shared(void* function, int bytes, const std::string& what) {
    make_current();
    CUfunction f = static_cast<CUfunction>(function);
    int static_bytes = 0;
    PG_CU(cuFuncGetAttribute, &static_bytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
    PG_CHECK(static_bytes + bytes <= max_shared_optin_,
             "{} needs {} B of shared memory per block ({} static + {} dynamic), more than {} ({}) allows: {} B; "
             "re-plan for this GPU's arch (PG_CUDA_ARCH) or re-run pgolf tune",
             what, static_bytes + bytes, static_bytes, bytes, name_, arch(), max_shared_optin_);
    PG_CU(cuFuncSetAttribute, f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}

void CudaDevice::synchronize() {
    make_current();
    PG_CU(cuStreamSynchronize, stream_of(stream_));
}

CudaModule::CudaModule(CudaDevice& device, const std::string& cubin) : device_(device) {
    check_nvrtc_runs_on_driver();
    device_.make_current();
    CUmodule m = nullptr;
    PG_CU(cuModuleLoadData, &m, cubin.data());
    module_ = m;
}

CudaModule::~CudaModule() {
    if (!module_) return;
    device_.make_current();
    cuda::driver().cuModuleUnload(static_cast<CUmodule>(module_));  // nothing to do about a failure here
}

void* CudaModule::function(const std::string& entry) const {
    CUfunction f = nullptr;
    CUresult r = cuda::driver().cuModuleGetFunction(&f, static_cast<CUmodule>(module_), entry.c_str());
    PG_ASSERT(r == CUDA_SUCCESS, "the compiled module has no kernel {}", entry);
    return f;
}

CudaEvent::CudaEvent(CudaDevice& device) : device_(device) {
    device_.make_current();
    CUevent e = nullptr;
    PG_CU(cuEventCreate, &e, CU_EVENT_DEFAULT);
    event_ = e;
}

CudaEvent::~CudaEvent() {
    if (event_) cuda::driver().cuEventDestroy(static_cast<CUevent>(event_));
}

void CudaEvent::record() {
    device_.make_current();
    PG_CU(cuEventRecord, static_cast<CUevent>(event_), stream_of(device_.stream()));
}

void CudaEvent::synchronize() { PG_CU(cuEventSynchronize, static_cast<CUevent>(event_)); }

double CudaEvent::elapsed_ms(const CudaEvent& start) const {
    PG_CHECK(cuda::driver().cuEventElapsedTime != nullptr,
             "this NVIDIA driver lacks cuEventElapsedTime_v2; update the driver to time on the GPU");
    float ms = 0;
    PG_CU(cuEventElapsedTime, &ms, static_cast<CUevent>(start.event_), static_cast<CUevent>(event_));
    return ms;
}

}  // namespace pg
