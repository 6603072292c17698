// CudaDevice: one GPU through the Driver API: its primary context, one compute stream, device
// memory, copies, module loading and kernel launches; CudaModule (a loaded cubin) and CudaEvent.
// Every call makes the device's context current on the calling thread first, so any thread may
// use it. Handles are opaque here (no CUDA header in public headers): a function is a CUfunction,
// the stream a CUstream.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace pg {

using DevicePtr = uint64_t;

class CudaDevice {
public:
    // The device chosen by PG_CUDA_DEVICE (default: $LOCAL_RANK, else 0), opened on first use.
    // Throws pg::Error when there is no usable driver or device. It lives until the process
    // exits (never destroyed: the driver may be torn down first at exit).
    static CudaDevice& get();

    int ordinal() const { return ordinal_; }
    const std::string& name() const { return name_; }
    int compute_capability() const { return cc_; }  // 90 for sm_90
    // The NVRTC target for this device: "sm_90a" on Hopper, "sm_100a" on Blackwell (the
    // arch-specific targets cost nothing on the exact GPU they run on), else "sm_XY".
    std::string arch() const;
    int sm_count() const { return sm_count_; }
    // Shared memory one block may use when its kernel opts in (227 KiB on H100, 163 KiB on A100).
    int max_shared_optin() const { return max_shared_optin_; }
    int64_t total_memory() const { return total_memory_; }
    int64_t free_memory() const;

    void make_current() const;
    void* stream() const { return stream_; }

    DevicePtr alloc(size_t bytes);
    void free(DevicePtr p);
    // Copies ordered on the device's stream. upload returns once `src` may be reused; download
    // waits for the stream and the copy.
    void upload(DevicePtr dst, const void* src, size_t bytes);
    void download(void* dst, DevicePtr src, size_t bytes);
    void copy(DevicePtr dst, DevicePtr src, size_t bytes);
    void fill_zero(DevicePtr dst, size_t bytes);
    // Enqueues `function` (a CUfunction) on the stream with `smem` bytes of dynamic shared memory;
    // args[i] points at the i-th argument.
    void launch(void* function, const std::array<int64_t, 3>& grid, int block, void** args, int smem = 0);
    // Lets `function` take `bytes` of dynamic shared memory (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_
    // SIZE_BYTES; launches above 48 KiB fail without it). Throws pg::Error naming `what` when its
    // static plus dynamic shared memory exceeds this device's opt-in limit.
    void allow_dynamic_shared(void* function, int bytes, const std::string& what);
    void synchronize();

private:
    explicit CudaDevice(int ordinal);

    int ordinal_ = 0;
    int device_ = 0;  // CUdevice
    void* context_ = nullptr;
    void* stream_ = nullptr;
    std::string name_;
    int cc_ = 0, sm_count_ = 0, max_shared_optin_ = 0;
    int64_t total_memory_ = 0;
};

// A cubin loaded into the device's context; unloaded on destruction.
class CudaModule {
public:
    CudaModule(CudaDevice& device, const std::string& cubin);
    ~CudaModule();
    CudaModule(const CudaModule&) = delete;
    CudaModule& operator=(const CudaModule&) = delete;

    // The CUfunction of an entry point; throws InternalError when the module lacks it.
    void* function(const std::string& entry) const;

private:
    CudaDevice& device_;
    void* module_ = nullptr;
};

// An event on the device's stream, for ordering and timing.
class CudaEvent {
public:
    explicit CudaEvent(CudaDevice& device);
    ~CudaEvent();
    CudaEvent(const CudaEvent&) = delete;
    CudaEvent& operator=(const CudaEvent&) = delete;

    void record();
    void synchronize();
    // Milliseconds from `start` (recorded earlier) to this event; both must have completed.
    double elapsed_ms(const CudaEvent& start) const;

private:
    CudaDevice& device_;
    void* event_ = nullptr;
};

}  // namespace pg
