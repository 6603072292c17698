// The MPI engine (see mpi_communicator.h). Compiled against Open MPI when CMake finds it
// (PG_HAVE_MPI); otherwise every entry point says that this build lacks MPI.
#include "runtime/comm/mpi_communicator.h"

#include <fmt/format.h>

#include "base/error.h"

#if PG_HAVE_MPI
#include <mpi.h>

#include <cstdlib>
#include <vector>
#endif

namespace pg::comm {

#if PG_HAVE_MPI

namespace {

void check_mpi(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(fmt::format("MPI call {} failed: {}", call, std::string(text, static_cast<size_t>(len))));
}

#define PG_MPI(call) check_mpi(call, #call)

MPI_Datatype mpi_type(DType t) {
    switch (t) {
        case DType::f32: return MPI_FLOAT;
        case DType::i32: return MPI_INT32_T;
        case DType::i64: return MPI_INT64_T;
        case DType::u8: case DType::boolean: return MPI_UINT8_T;
        case DType::bf16: case DType::f16: case DType::u16: return MPI_UINT16_T;
    }
    return MPI_BYTE;
}

// MPI reduces no 16-bit float: those buffers may only be gathered or broadcast.
MPI_Datatype reducible_type(DType t) {
    PG_CHECK(t == DType::f32 || t == DType::i32 || t == DType::i64,
             "the MPI engine reduces f32, i32 and i64 buffers, not {} (accumulate gradients in f32)", dtype_name(t));
    return mpi_type(t);
}

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::Max ? MPI_MAX : MPI_SUM; }

void* ptr(uint64_t address) { return reinterpret_cast<void*>(address); }

// Open MPI on the main thread only: the thread pool's workers never call MPI.
void init_once() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    PG_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

// An Avg request to finish: MPI sums, then the result is scaled by 1 / world size.
struct PendingScale {
    uint64_t address;
    int64_t count;
    DType dtype;
};

class MpiCommunicator final : public Communicator {
public:
    using Communicator::all_reduce;
    MpiCommunicator() {
        init_once();
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
    }

    std::string engine() const override { return "mpi"; }
    int rank() const override { return rank_; }
    int size() const override { return size_; }

    void all_reduce(std::span<const CommBuffer> bucket, ReduceOp op) override {
        for (const CommBuffer& b : bucket) {
            const void* send = b.result && b.result != b.address ? ptr(b.address) : MPI_IN_PLACE;
            PG_MPI(MPI_Iallreduce(send, ptr(b.out()), count_of(b.count), reducible_type(b.dtype), mpi_op(op),
                                  MPI_COMM_WORLD, &next_request()));
            if (op == ReduceOp::Avg) scales_.push_back({b.out(), b.count, b.dtype});
        }
    }

    void reduce_scatter(uint64_t send, uint64_t recv, int64_t count, DType dtype, ReduceOp op) override {
        PG_MPI(MPI_Ireduce_scatter_block(ptr(send), ptr(recv), count_of(count), reducible_type(dtype), mpi_op(op),
                                         MPI_COMM_WORLD, &next_request()));
        if (op == ReduceOp::Avg) scales_.push_back({recv, count, dtype});
    }

    void all_gather(uint64_t send, uint64_t recv, int64_t count, DType dtype) override {
        const uint64_t mine = recv + static_cast<uint64_t>(rank_ * count) * dtype_size(dtype);
        const void* s = send == mine ? MPI_IN_PLACE : ptr(send);
        PG_MPI(MPI_Iallgather(s, count_of(count), mpi_type(dtype), ptr(recv), count_of(count), mpi_type(dtype),
                              MPI_COMM_WORLD, &next_request()));
    }

    void broadcast(uint64_t address, int64_t count, DType dtype, int root) override {
        PG_MPI(MPI_Ibcast(ptr(address), count_of(count), mpi_type(dtype), root, MPI_COMM_WORLD, &next_request()));
    }

    void wait() override {
        if (!requests_.empty())
            PG_MPI(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
        requests_.clear();
        for (const PendingScale& s : scales_) scale(s);
        scales_.clear();
    }

    void progress() override {
        int done = 0;  // completed requests become MPI_REQUEST_NULL, which wait() skips
        if (!requests_.empty())
            PG_MPI(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE));
    }

    void all_reduce_host(std::span<double> values, ReduceOp op) override {
        PG_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(static_cast<int64_t>(values.size())), MPI_DOUBLE,
                             mpi_op(op), MPI_COMM_WORLD));
        if (op == ReduceOp::Avg)
            for (double& v : values) v /= size_;
    }

    void abort() noexcept override { MPI_Abort(MPI_COMM_WORLD, 1); }

    void broadcast_host(std::span<uint8_t> bytes, int root) override {
        PG_MPI(MPI_Bcast(bytes.data(), count_of(static_cast<int64_t>(bytes.size())), MPI_UINT8_T, root, MPI_COMM_WORLD));
    }

private:
    static int count_of(int64_t n) {
        PG_CHECK(n >= 0 && n <= INT32_MAX, "an MPI collective of {} elements exceeds MPI's int count; split the bucket",
                 n);
        return static_cast<int>(n);
    }
    MPI_Request& next_request() { return requests_.emplace_back(MPI_REQUEST_NULL); }
    void scale(const PendingScale& s) const {
        if (s.dtype != DType::f32) return;  // integer averages are left as sums: nothing averages ids
        auto* p = reinterpret_cast<float*>(s.address);
        const float inv = 1.0f / static_cast<float>(size_);
        for (int64_t i = 0; i < s.count; ++i) p[i] *= inv;
    }

    int rank_ = 0, size_ = 1;
    std::vector<MPI_Request> requests_;
    std::vector<PendingScale> scales_;
};

}  // namespace

bool mpi_available() { return true; }

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

void mpi_finalize() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Finalize();
}

void mpi_abort_world(int code) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
}

#else

bool mpi_available() { return false; }

std::unique_ptr<Communicator> make_mpi_communicator() {
    throw Error("this pgolf was built without MPI, which runs the CPU backend's collectives: install Open MPI "
                "(Debian: libopenmpi-dev openmpi-bin) and rebuild (scripts/build.sh), or train on GPUs (NCCL)");
}

void mpi_finalize() {}

void mpi_abort_world(int) {}

#endif

}  // namespace pg::comm
