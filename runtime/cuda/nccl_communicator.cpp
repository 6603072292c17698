// The NCCL engine (see nccl_communicator.h).
#include "runtime/cuda/nccl_communicator.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "base/error.h"
#include "runtime/comm/mpi_communicator.h"
#include "runtime/comm/tcp_rendezvous.h"
#include "runtime/cuda/cuda_api.h"
#include "runtime/cuda/cuda_device.h"

namespace pg {
namespace {

ncclDataType_t nccl_type(DType t) {
    switch (t) {
        case DType::f32: return ncclFloat32;
        case DType::bf16: return ncclBfloat16;
        case DType::f16: case DType::u16: return ncclFloat16;  // u16: moved, never reduced
        case DType::i32: return ncclInt32;
        case DType::i64: return ncclInt64;
        case DType::u8: case DType::boolean: return ncclUint8;
    }
    return ncclUint8;
}

ncclRedOp_t nccl_op(comm::ReduceOp op) {
    return op == comm::ReduceOp::Avg ? ncclAvg : op == comm::ReduceOp::Max ? ncclMax : ncclSum;
}

CUstream as_stream(void* s) { return static_cast<CUstream>(s); }

// Rank 0's unique id, shared by the TCP rendezvous when MASTER_ADDR/MASTER_PORT are set, else by
// MPI under mpirun/srun (when built with MPI).
ncclUniqueId shared_unique_id(const comm::LaunchEnv& env) {
    ncclUniqueId id{};
    if (env.rank == 0) PG_NCCL(ncclGetUniqueId, &id);
    if (env.world_size == 1) return id;  // nobody to tell
    if (env.master_addr.empty() && env.by_mpi() && comm::mpi_available()) {
        comm::make_mpi_communicator()->broadcast_host(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&id), sizeof(id)), 0);
        return id;  // MPI stays initialised until the run ends (comm::finish_world)
    }
    std::vector<uint8_t> bytes(reinterpret_cast<uint8_t*>(&id), reinterpret_cast<uint8_t*>(&id) + sizeof(id));
    bytes = comm::rendezvous_broadcast(env, bytes);
    PG_CHECK(bytes.size() == sizeof(id), "rendezvous: rank 0 sent {} bytes, not an NCCL unique id ({} bytes)",
             bytes.size(), sizeof(id));
    std::memcpy(&id, bytes.data(), sizeof(id));
    return id;
}

class NcclCommunicator final : public comm::Communicator {
public:
    using comm::Communicator::all_reduce;
    explicit NcclCommunicator(const comm::LaunchEnv& env)
        : device_(CudaDevice::get()), rank_(env.rank), size_(env.world_size) {
        ncclUniqueId id = shared_unique_id(env);
        device_.make_current();
        PG_NCCL(ncclCommInitRank, &comm_, size_, id, rank_);
        CUstream s = nullptr;
        PG_CU(cuStreamCreate, &s, CU_STREAM_NON_BLOCKING);
        stream_ = s;
        PG_CU(cuEventCreate, &ready_, CU_EVENT_DISABLE_TIMING);
        PG_CU(cuEventCreate, &done_, CU_EVENT_DISABLE_TIMING);
    }
    ~NcclCommunicator() override {
        const cuda::NcclApi& n = cuda::nccl();
        if (comm_) n.ncclCommDestroy(comm_);
        if (staging_) device_.free(staging_);
        const cuda::DriverApi& d = cuda::driver();
        d.cuEventDestroy(ready_);
        d.cuEventDestroy(done_);
        d.cuStreamDestroy(as_stream(stream_));
    }

    std::string engine() const override { return "nccl"; }
    int rank() const override { return rank_; }
    int size() const override { return size_; }

    void all_reduce(std::span<const comm::CommBuffer> bucket, comm::ReduceOp op) override {
        after_compute();
        PG_NCCL(ncclGroupStart);
        for (const comm::CommBuffer& b : bucket)
            PG_NCCL(ncclAllReduce, ptr(b.address), ptr(b.out()), static_cast<size_t>(b.count), nccl_type(b.dtype),
                    nccl_op(op), comm_, as_stream(stream_));
        PG_NCCL(ncclGroupEnd);
    }

    void reduce_scatter(uint64_t send, uint64_t recv, int64_t count, DType dtype, comm::ReduceOp op) override {
        after_compute();
        PG_NCCL(ncclReduceScatter, ptr(send), ptr(recv), static_cast<size_t>(count), nccl_type(dtype), nccl_op(op),
                comm_, as_stream(stream_));
    }

    void all_gather(uint64_t send, uint64_t recv, int64_t count, DType dtype) override {
        after_compute();
        PG_NCCL(ncclAllGather, ptr(send), ptr(recv), static_cast<size_t>(count), nccl_type(dtype), comm_,
                as_stream(stream_));
    }

    void broadcast(uint64_t address, int64_t count, DType dtype, int root) override {
        after_compute();
        PG_NCCL(ncclBroadcast, ptr(address), ptr(address), static_cast<size_t>(count), nccl_type(dtype), root, comm_,
                as_stream(stream_));
    }

    void wait() override {
        device_.make_current();
        PG_CU(cuEventRecord, done_, as_stream(stream_));
        PG_CU(cuStreamWaitEvent, as_stream(device_.stream()), done_, 0);
    }

    void abort() noexcept override {
        if (comm_) cuda::nccl().ncclCommAbort(comm_);  // peers may wait: never block on them
        comm_ = nullptr;
    }

    void all_reduce_host(std::span<double> values, comm::ReduceOp op) override {
        const size_t bytes = values.size() * sizeof(double);
        DevicePtr buf = staging(bytes);
        device_.upload(buf, values.data(), bytes);
        after_compute();
        PG_NCCL(ncclAllReduce, ptr(buf), ptr(buf), values.size(), ncclFloat64, nccl_op(op), comm_, as_stream(stream_));
        wait();
        device_.download(values.data(), buf, bytes);
    }

    void broadcast_host(std::span<uint8_t> bytes, int root) override {
        DevicePtr buf = staging(bytes.size());
        device_.upload(buf, bytes.data(), bytes.size());
        broadcast(buf, static_cast<int64_t>(bytes.size()), DType::u8, root);
        wait();
        device_.download(bytes.data(), buf, bytes.size());
    }

private:
    static void* ptr(uint64_t address) { return reinterpret_cast<void*>(address); }

    // The communication stream waits for everything queued on the compute stream so far.
    void after_compute() {
        device_.make_current();
        PG_CU(cuEventRecord, ready_, as_stream(device_.stream()));
        PG_CU(cuStreamWaitEvent, as_stream(stream_), ready_, 0);
    }

    DevicePtr staging(size_t bytes) {
        if (bytes > staging_bytes_) {
            if (staging_) device_.free(staging_);
            staging_ = device_.alloc(bytes);
            staging_bytes_ = bytes;
        }
        return staging_;
    }

    CudaDevice& device_;
    int rank_, size_;
    ncclComm_t comm_ = nullptr;
    void* stream_ = nullptr;
    CUevent ready_ = nullptr, done_ = nullptr;
    DevicePtr staging_ = 0;
    size_t staging_bytes_ = 0;
};

}  // namespace

std::unique_ptr<comm::Communicator> make_nccl_communicator(const comm::LaunchEnv& env) {
    return std::make_unique<NcclCommunicator>(env);
}

}  // namespace pg
