// Session: the persistent tensors of a training run (parameters, optimizer state, gradient
// accumulators, later EMA/SWA shadows) on one backend's device, by name. Every executable
// compiled in a session binds its Param leaves to the session's tensors of the same name, so the
// micro-step, optimizer, evaluation and test-time-training graphs all read and write the same
// buffers: nothing crosses to the host but batches, scalars and metrics.
//
// A data-parallel run gives the session its communicator (runtime/comm): the executables compiled
// in it run their plans' collective steps (the gradient all-reduce) over it. Without one, or in a
// world of one, those steps are the identity and are skipped.
//
// The session also counts every byte that crosses between host and device, by what it was
// (state, input batch, scalar, output), so that a trainer can show that a step moves nothing
// else (PG_DEBUG=1).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/tensor_data.h"
#include "runtime/device.h"

namespace pg {

namespace comm {
class Communicator;
}

struct SessionTensor {
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    uint64_t address = 0;
    int64_t bytes = 0;
};

enum class Transfer : uint8_t { State, Input, Scalar, Output };
constexpr int kTransferKinds = 4;

struct TransferStats {
    std::array<int64_t, kTransferKinds> to_device{}, to_host{};
    int64_t total() const;
    TransferStats operator-(const TransferStats& before) const;
    // "batch 65536 B, scalars 40 B, outputs 32 B, state 0 B" (both directions summed per kind).
    std::string to_string() const;
};

// Throws pg::Error naming `name` when `value` is not of `dtype` and `shape`.
void check_value(const std::string& name, const HostTensor& value, DType dtype, const Shape& shape);

class Session {
public:
    explicit Session(std::unique_ptr<Device> device);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Device& device() const { return *device_; }

    // The tensor `name`, allocated zero-filled on the first bind; a later bind with another dtype
    // or shape is a pg::Error naming both.
    const SessionTensor& bind(const std::string& name, DType dtype, const Shape& shape);
    const SessionTensor* find(const std::string& name) const;
    // Host copies in and out (counted as state transfers); the dtype and shape must match.
    void set(const std::string& name, const HostTensor& value);
    HostTensor get(const std::string& name) const;
    void fill_zero(const std::string& name);
    std::vector<std::string> names() const;
    int64_t bytes() const;  // all tensors

    // The ranks' communicator (not owned), or null: a world of one without a collective engine.
    void set_communicator(comm::Communicator* c) { comm_ = c; }
    comm::Communicator* communicator() const { return comm_; }

    void count(Transfer what, bool to_device, int64_t bytes) const;
    const TransferStats& transfers() const { return transfers_; }

private:
    const SessionTensor& at(const std::string& name) const;

    std::unique_ptr<Device> device_;
    std::map<std::string, SessionTensor> tensors_;
    mutable TransferStats transfers_;
    comm::Communicator* comm_ = nullptr;
};

}  // namespace pg
