// Executable: a graph compiled for one backend inside a Session. The compile driver
// (codegen/compile_plan.h) has made the plan; this class binds it to memory and is shared by both
// backends: Param leaves are the session's tensors (by name, no copies), inputs, scalars and the
// arena of intermediates are one private allocation on the session's device. Set/get of leaves
// and outputs live here, once; the backends (CpuExecutable, CudaExecutable) only compile the
// plan's kernels and replay its steps.
//
// PG_BACKEND picks the backend of open_session(): "auto" (CUDA when a device is usable, else
// CPU), "cpu" or "cuda".
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "codegen/exec_plan.h"
#include "graph/graph.h"
#include "graph/tensor_data.h"
#include "runtime/session.h"

namespace pg {

// One step's mean time per run in a profile: "k012 loop exp [4, 32]", its group ("loop exp",
// "blas matmul", "copy updates").
struct KernelTime {
    std::string name, kind;
    double seconds = 0;
};

class Executable {
public:
    virtual ~Executable();
    Executable(const Executable&) = delete;
    Executable& operator=(const Executable&) = delete;

    // A leaf's value: an input or scalar of this graph, or a Param (then the session's tensor,
    // shared with every graph of the session). dtype and shape must match the leaf's.
    void set(const std::string& leaf, const HostTensor& value);
    void set_scalar(const std::string& name, double value);
    bool has_leaf(const std::string& name) const;
    // An output's latest value, or a leaf's current value (waits for the step).
    HostTensor get(const std::string& name) const;
    // Where a leaf lives on the device (loaders that write batches in place).
    uint64_t leaf_address(const std::string& name) const;

    // One replay of the plan (asynchronous on a GPU; set/get order themselves after it).
    virtual void run() = 0;
    // Kernel launches (and library calls) per run.
    virtual int launches() const = 0;
    // One line: kernels per step by kind, memory, compile time.
    virtual std::string summary() const = 0;
    // Per-kernel profile where the backend records one (PG_PROFILE=1 on CPU), else "" / empty.
    virtual std::string profile_report(int top) const;
    // With `on`, run() scans every kernel's output and throws NonFiniteError (runtime/nan_check.h)
    // naming the first kernel that wrote a NaN or infinity, before any state update is copied.
    // On by default under PG_NAN_CHECK=full (on CUDA every step then runs launch by launch).
    virtual void check_outputs(bool on) = 0;
    virtual std::vector<KernelTime> profile() const;

    std::string backend() const { return session_.device().name(); }
    const ExecPlan& plan() const { return plan_; }
    Session& session() const { return session_; }
    int64_t private_bytes() const { return private_bytes_; }  // inputs, scalars and arena
    // Collective steps per run (the gradient all-reduce's buckets).
    int collectives() const { return plan_.count(PlanStep::Kind::Collective); }

protected:
    // Binds the plan's params to the session and allocates the private leaves and the arena.
    Executable(ExecPlan plan, Session& session);
    uint64_t address(NodeId id) const;
    // The device address `offset` bytes into the arena (a step's workspace).
    uint64_t arena_address(int64_t offset) const { return arena_ + static_cast<uint64_t>(offset); }
    // The communicator that runs the plan's collective steps: the session's, else null (the steps
    // are then skipped: the mean over one rank is the value itself; a plan with ReduceScatterAvg
    // or AllGather steps, whose shapes assume several ranks, throws).
    comm::Communicator* collective_communicator() const;
    // Issues the Collective step `index` of the plan on `c` (its buffers averaged in place).
    void issue_collective(comm::Communicator& c, size_t index) const;
    // ReduceScatterAvg / AllGather: each value's blocks go straight into (out of) its state.
    void issue_block_collective(comm::Communicator& c, const PlanStep& st) const;

    ExecPlan plan_;
    Session& session_;

private:
    const PlanLeaf& leaf(const std::string& name) const;
    void place_leaves();
    void place_arena();

    uint64_t leaf_memory_ = 0, arena_ = 0;
    int64_t private_bytes_ = 0;
    std::vector<uint64_t> address_;  // per node; 0: no buffer (inlined)
};

// The backend open_session() would use now ("cpu" or "cuda"), probing the device once.
std::string selected_backend();

// A session on `backend` ("cpu", "cuda", or "" for selected_backend()). Throws pg::Error when CUDA
// is asked for and no device is usable (the message says why: no driver, no device).
std::unique_ptr<Session> open_session(const std::string& backend = "");

// The target for the session's backend: cpu_target(), or cuda_target() for the device's arch,
// with the tuning database's decisions for this device attached (runtime/tuning/tuning_db.h;
// none under PG_TUNE=off).
Target session_target(const Session& session);

// Compiles `g` for the session's backend with session_target().
std::unique_ptr<Executable> compile_executable(Session& session, const Graph& g);

}  // namespace pg
