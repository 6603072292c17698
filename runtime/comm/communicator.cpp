// The world of one and the shared helpers (see communicator.h).
#include "runtime/comm/communicator.h"

#include <cstring>

namespace pg::comm {

const char* reduce_op_name(ReduceOp op) {
    switch (op) {
        case ReduceOp::Sum: return "sum";
        case ReduceOp::Avg: return "avg";
        case ReduceOp::Max: return "max";
    }
    return "?";
}

double Communicator::all_reduce_host(double value, ReduceOp op) {
    all_reduce_host(std::span<double>(&value, 1), op);
    return value;
}

namespace {

// The local engine runs where the session's memory is the host's (the CPU backend); a GPU world
// of one goes through NCCL with one rank, which copies on the device.
void host_copy(uint64_t dst, uint64_t src, int64_t count, DType dtype) {
    if (dst != src && count > 0)
        std::memcpy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src),
                    static_cast<size_t>(count) * dtype_size(dtype));
}

}  // namespace

void LocalCommunicator::all_reduce(std::span<const CommBuffer> bucket, ReduceOp) {
    for (const CommBuffer& b : bucket) host_copy(b.out(), b.address, b.count, b.dtype);
}

void LocalCommunicator::reduce_scatter(uint64_t send, uint64_t recv, int64_t count, DType dtype, ReduceOp) {
    host_copy(recv, send, count, dtype);
}

void LocalCommunicator::all_gather(uint64_t send, uint64_t recv, int64_t count, DType dtype) {
    host_copy(recv, send, count, dtype);
}

}  // namespace pg::comm
