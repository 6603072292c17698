// Communicator: the collectives of a data-parallel run over the ranks of one world, implemented
// by real engines only (NCCL on GPUs, Open MPI on CPUs; see nccl_communicator.h and
// mpi_communicator.h) and a world of one (LocalCommunicator) where nothing is distributed.
//
// Device collectives work on a session's memory: addresses as runtime/device.h gives them (host
// pointers on the CPU, CUdeviceptr on a GPU). They are *issued*: the engine may still run them
// when the call returns (MPI's non-blocking requests, NCCL on its own communication stream
// ordered after the compute stream); wait() completes everything issued so far, after which the
// results may be read and the buffers reused. A call with several buffers is one bucket: NCCL
// fuses it into one launch (a group), MPI issues one request per buffer at once.
//
// ReduceOp::Avg is the baseline's DDP semantics (the mean of the ranks' values); MPI has no AVG,
// so its engine sums and scales by 1 / world size when the request completes.
//
// Host collectives (metrics, the wallclock decision, the settings digest) are blocking and work
// on host memory whatever the engine.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "graph/dtype.h"

namespace pg::comm {

enum class ReduceOp : uint8_t { Sum, Avg, Max };

const char* reduce_op_name(ReduceOp op);

// `count` elements of `dtype` at `address` (and, out of place, the result at `result`).
struct CommBuffer {
    uint64_t address = 0;
    uint64_t result = 0;  // 0: in place
    int64_t count = 0;
    DType dtype = DType::f32;
    uint64_t out() const { return result ? result : address; }
};

class Communicator {
public:
    virtual ~Communicator() = default;

    virtual std::string engine() const = 0;  // "local", "mpi", "nccl"
    virtual int rank() const = 0;
    virtual int size() const = 0;

    // One bucket of all-reduces: every buffer reduced across the ranks.
    virtual void all_reduce(std::span<const CommBuffer> bucket, ReduceOp op) = 0;
    // `send` holds size() * count elements; rank r receives the reduction of block r (count
    // elements) at `recv`.
    virtual void reduce_scatter(uint64_t send, uint64_t recv, int64_t count, DType dtype, ReduceOp op) = 0;
    // Every rank's `count` elements at `send`, concatenated by rank at `recv` (size() * count).
    virtual void all_gather(uint64_t send, uint64_t recv, int64_t count, DType dtype) = 0;
    // `root`'s `count` elements at `address`, copied to every rank's `address`.
    virtual void broadcast(uint64_t address, int64_t count, DType dtype, int root) = 0;
    // Completes every collective issued so far.
    virtual void wait() = 0;
    // Lets collectives in flight advance while the caller computes (MPI progresses its
    // non-blocking requests only inside MPI calls); cheap, never blocks.
    virtual void progress() {}

    // Blocking collectives on host memory.
    virtual void all_reduce_host(std::span<double> values, ReduceOp op) = 0;
    virtual void broadcast_host(std::span<uint8_t> bytes, int root) = 0;

    // At an error on this rank: gives up on the peers so that nobody waits for this rank forever
    // (MPI_Abort ends the whole job; NCCL aborts the communicator and the launcher ends the rest
    // when this process exits non-zero).
    virtual void abort() noexcept {}

    bool is_main() const { return rank() == 0; }
    void all_reduce(const CommBuffer& buffer, ReduceOp op) { all_reduce(std::span<const CommBuffer>(&buffer, 1), op); }
    double all_reduce_host(double value, ReduceOp op);
};

// A world of one: every collective is the identity (out-of-place ones copy), on host memory or,
// for device buffers, through `copy` (null: host memory).
class LocalCommunicator final : public Communicator {
public:
    using Communicator::all_reduce;
    std::string engine() const override { return "local"; }
    int rank() const override { return 0; }
    int size() const override { return 1; }
    void all_reduce(std::span<const CommBuffer> bucket, ReduceOp op) override;
    void reduce_scatter(uint64_t send, uint64_t recv, int64_t count, DType dtype, ReduceOp op) override;
    void all_gather(uint64_t send, uint64_t recv, int64_t count, DType dtype) override;
    void broadcast(uint64_t, int64_t, DType, int) override {}
    void wait() override {}
    void all_reduce_host(std::span<double>, ReduceOp) override {}
    void broadcast_host(std::span<uint8_t>, int) override {}
};

}  // namespace pg::comm
