// How a kir kernel maps onto GPU threads: the CUDA renderer's per-kernel decisions.
//
// A kernel whose top-level statements are all loops runs one launch ("phase") per loop nest, in
// order (the scatter-add kernel zero-fills, then adds); any other kernel is one phase with a
// single point. Within a phase the perfectly nested outer loops are the "points", flattened into
// one grid-stride index; the statements under them (the point body) run once per point in one of
// four modes:
//   Thread  one thread per point; reductions run serially in the thread. Elementwise bodies whose
//           stores are contiguous along the innermost loop compute 4 consecutive points per
//           thread with 16-byte (f32) vector loads and stores.
//   Warp    one warp per point; each reduction loop of the point body (an accumulator initialised
//           in the point body and updated only in that loop) is split across the 32 lanes and
//           combined with shuffles.
//   Block   one block per point, the same split, combined through shared memory.
//   Serial  one thread runs everything: only for a kernel that reads a buffer it writes (never
//           produced by our lowering, but always correct).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda/kir_index.h"
#include "codegen/kir.h"

namespace pg::cuda {

enum class MapMode { Serial, Thread, Warp, Block };

// The tunable constants of the mapping (the defaults are the documented heuristic; the numbers
// behind each are in cuda_mapping.cpp). The autotuner searches them per kernel; a non-default
// configuration enters the kernel's entry names and source, hence its kernel key.
struct MappingConfig {
    int64_t min_split_extent = 32;  // shorter reductions run serially in each thread
    int64_t max_warp_extent = 4096; // longer reductions get a block per point
    int64_t min_warp_points = 1024; // fewer points get a block per point
    int block_threads = 256;        // threads per block of the thread and warp modes
    int vector_width = 4;           // points per thread of vectorised elementwise bodies (1: off)

    bool is_default() const;
    std::string to_string() const;  // "split32 warp4096 wpts1024 b256 v4"
    void validate() const;          // InternalError on an impossible combination
    bool operator==(const MappingConfig&) const = default;
};

std::string_view map_mode_name(MapMode m);

// A reduction loop of the point body split across the lanes of a group.
struct SplitLoop {
    std::vector<const kir::Stmt*> chain;  // the perfectly nested loops, outermost first
    int64_t extent = 1;                   // product of the chain's extents
    std::vector<int> accs;                // accumulators it updates (initialised outside it)
    std::vector<Op> ops;                  // their combine op (Add or Max)
};

// A load or store that the vectorised thread mode turns into one 16-byte access.
struct VectorAccess {
    int buffer = -1;
    Affine index;  // its index with the innermost loop var at its vector base
};

struct PhasePlan {
    std::vector<const kir::Stmt*> nest;      // the point loops, outermost first
    const std::vector<kir::Stmt>* body = nullptr;
    int64_t points = 1;
    MapMode mode = MapMode::Thread;
    int block = 256;
    int64_t grid = 1;
    int vector_width = 1;                    // > 1: points per thread along the innermost loop
    std::map<const kir::Stmt*, SplitLoop> splits;
    std::vector<VectorAccess> vector_loads;  // vectorised mode: hoisted loads
    std::vector<VectorAccess> vector_stores; // vectorised mode: deferred stores
};

struct KernelPlan {
    std::vector<PhasePlan> phases;
    std::set<int> loaded, written;
};

// Decides every phase's mapping with the constants of `config`. `k` must pass kir::verify.
KernelPlan plan_kernel(const kir::Kernel& k, const IndexInfo& ix, const MappingConfig& config = {});

// The slot in p.vector_loads (or p.vector_stores) of an access to `buffer` at `index`, or -1 when
// that access stays scalar.
int vector_load_slot(const PhasePlan& p, const IndexInfo& ix, int buffer, const kir::ExprRef& index);
int vector_store_slot(const PhasePlan& p, const IndexInfo& ix, int buffer, const kir::ExprRef& index);

// One line per phase, e.g. "warp points=65536 reduce=512 grid=8192x256".
std::string describe(const KernelPlan& p);

}  // namespace pg::cuda
