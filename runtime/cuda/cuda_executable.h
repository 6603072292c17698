// CudaExecutable: an ExecPlan on the GPU. Construction compiles the plan's CUDA sources with
// NVRTC (through the kernel cache), loads the modules and builds an immutable list of launches
// and device copies over the session's buffers; run() replays them: the first run launches them
// one by one with a check after each (naming a faulting kernel), the second captures them as a
// CUDA graph, and every later run launches that graph (PG_CUDA_GRAPH=0 launches the steps one by
// one; PG_CUDA_SYNC=1 runs every step checked, launch by launch).
//
// Collective steps (the gradient all-reduce) go to the session's communicator (NCCL): each bucket is
// enqueued on the communication stream right after the kernel that finishes its last gradient
// (the stream waits for it by event), so it overlaps the backward kernels that follow on the
// compute stream, which waits for the communication stream before the update copies. Captured
// into the CUDA graph with the kernels (NCCL supports stream capture).
//
// run() is asynchronous; set(), get() and synchronize() order themselves after it.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/executable.h"

namespace pg {

class CudaGraph;
class CudaModule;

struct CudaPlanStats {
    int loop_kernels = 0, gemm_kernels = 0, scatter_kernels = 0, attention_kernels = 0, linear_ce_kernels = 0;
    int launches = 0;  // kernel launches per step (a kernel may have several phases)
    int64_t arena_bytes = 0, naive_bytes = 0;
    double plan_seconds = 0;
    CudaCompileStats compile;
};

class CudaExecutable final : public Executable {
public:
    CudaExecutable(Session& session, const Graph& g, const Target& target);
    ~CudaExecutable() override;

    // One step: checked launch by launch on the first call (and always under PG_CUDA_SYNC=1), then
    // the captured CUDA graph (captured on the second call) or, with PG_CUDA_GRAPH=0, eager launches.
    void run() override;
    // One step of eager launches, whatever PG_CUDA_GRAPH says.
    void run_eager();
    void synchronize();
    int launches() const override { return stats_.launches; }
    // PG_NAN_CHECK=full: every step runs launch by launch and each kernel's output is copied to
    // the host and scanned; a NaN or infinity throws NonFiniteError naming the kernel.
    void check_outputs(bool on) override { check_outputs_ = on; }
    std::string summary() const override;

    // Tuning hooks (runtime/tuning/cuda_autotune.h). Enqueues plan step i (a Kernel or Gemm step)
    // alone with `config` in place of its own (none: its own); a configuration's source is
    // rendered, compiled and loaded on first use and kept. Its inputs are whatever the buffers
    // hold: run the steps in plan order.
    void run_step(size_t i, const KernelConfig& config);
    // Step i's output buffer, downloaded (waits for the stream).
    HostTensor step_output(size_t i);

    bool uses_graph() const { return use_graph_; }
    const CudaPlanStats& stats() const { return stats_; }

private:
    struct Step;

    void build_steps(const CudaProgram& program);
    void add_replay_steps(const PlanStep& ps, const CudaProgram& program, size_t& source_index);
    void enqueue();
    // Enqueues replay step i (a Complete step makes the compute stream wait for the collectives)
    // and issues the buckets that become ready after it.
    void enqueue_step(size_t i, comm::Communicator* comm);
    void run_checked_step();
    void check_output(int64_t plan_step);  // throws NonFiniteError
    void issue_collectives(comm::Communicator* c, size_t before_step);

    CudaDevice& device_;
    bool use_graph_ = true;
    bool sync_ = false;          // PG_CUDA_SYNC
    bool checked_once_ = false;  // the first step ran checked
    bool check_outputs_ = false;  // PG_NAN_CHECK=full: every step checked, each kernel output scanned
    std::vector<std::unique_ptr<CudaModule>> modules_;
    struct Variant;
    std::map<std::pair<size_t, std::string>, std::unique_ptr<Variant>> variants_;  // by (plan step, config)
    std::vector<Step> steps_;
    std::vector<std::vector<size_t>> issue_before_;  // [i]: plan collective steps issued before step i
    std::unique_ptr<CudaGraph> cuda_graph_;
    bool collectives_waited_ = false;  // this step's Complete already waited for every bucket
    CudaPlanStats stats_;
};

}  // namespace pg
