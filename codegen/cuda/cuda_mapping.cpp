// Grid/block mapping of kir kernels (see cuda_mapping.h).
#include "codegen/cuda/cuda_mapping.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "base/error.h"

namespace pg::cuda {
namespace {

// The defaults of MappingConfig, and why:
//   min_split_extent 32: reductions shorter than a warp leave lanes idle when split; a serial loop
//     per thread is cheaper and keeps the point body free of shuffles.
//   max_warp_extent 4096: past that a lane of a warp would loop more than 128 times per point; a
//     256-thread block divides that by 8.
//   min_warp_points 1024: warp mode packs 8 points into a 256-thread block; below 1024 points that
//     is fewer than 128 blocks, less than one per SM on an H100 (132 SMs), so each point gets a
//     whole block instead.
//   block_threads 256: 8 warps per block, enough latency hiding per SM at 4+ resident blocks, and
//     the register budget (65536 / 256 / 4 = 64 per thread) suits the generated code.
//   vector_width 4: one 16-byte access for f32/i32 (8 bytes for bf16/f16, two 16-byte accesses
//     for i64).
// With fewer than 32 points the GPU is mostly idle anyway; 1024 threads per point give each
// reduction four times the memory parallelism.
constexpr int64_t kFewPoints = 32;
constexpr int kLargeBlockThreads = 1024;
// Grid-stride loops cover the rest: 2^20 blocks of 256 threads far exceed the ~270k threads an
// H100 keeps resident, so the cap never costs parallelism.
constexpr int64_t kMaxGrid = int64_t{1} << 20;

void for_each_expr(const kir::ExprRef& e, const std::function<void(const kir::Expr&)>& f) {
    f(*e);
    for (const kir::ExprRef& a : e->args) for_each_expr(a, f);
}

// Every statement of `body`, recursively, in order.
void for_each_stmt(const std::vector<kir::Stmt>& body, const std::function<void(const kir::Stmt&)>& f) {
    for (const kir::Stmt& s : body) {
        f(s);
        if (s.kind == kir::StmtKind::Loop) for_each_stmt(s.body, f);
    }
}

void stmt_exprs(const kir::Stmt& s, const std::function<void(const kir::Expr&)>& f) {
    if (s.index) for_each_expr(s.index, f);
    if (s.value) for_each_expr(s.value, f);
}

// The loops mapped onto threads: the perfect nest from `head`, up to the first serial loop.
std::vector<const kir::Stmt*> loop_chain(const kir::Stmt& head) {
    PG_ASSERT(!head.serial, "a serial loop at the top of a kernel (owner_adds.h wraps such nests)");
    std::vector<const kir::Stmt*> chain{&head};
    while (chain.back()->body.size() == 1 && chain.back()->body[0].kind == kir::StmtKind::Loop &&
           !chain.back()->body[0].serial)
        chain.push_back(&chain.back()->body[0]);
    return chain;
}

int64_t chain_extent(const std::vector<const kir::Stmt*>& chain) {
    int64_t n = 1;
    for (const kir::Stmt* l : chain) n *= std::max<int64_t>(l->extent, 1);
    return n;
}

// A loop of the point body that can be split across a group: it stores nothing, and every
// accumulator it updates from outside is updated with one op, is f32 or i64, and is not read
// inside it (a lane would see only its partial value).
std::optional<SplitLoop> as_split(const kir::Kernel& k, const kir::Stmt& loop) {
    std::set<int> updated, inited, read;
    std::map<int, std::set<Op>> ops;
    bool stores = false;
    for_each_stmt({loop}, [&](const kir::Stmt& s) {
        if (s.kind == kir::StmtKind::Store || s.kind == kir::StmtKind::StoreAdd) stores = true;
        if (s.kind == kir::StmtKind::AccInit) inited.insert(s.var);
        if (s.kind == kir::StmtKind::AccUpdate) {
            updated.insert(s.var);
            ops[s.var].insert(s.op);
        }
        stmt_exprs(s, [&](const kir::Expr& e) {
            if (e.kind == kir::ExprKind::Var) read.insert(e.var);
        });
    });
    if (stores) return std::nullopt;
    SplitLoop split;
    for (int acc : updated) {
        if (inited.count(acc)) continue;
        DType t = k.vars[acc].dtype;
        if (ops[acc].size() != 1 || (t != DType::f32 && t != DType::i64) || read.count(acc)) return std::nullopt;
        split.accs.push_back(acc);
        split.ops.push_back(*ops[acc].begin());
    }
    if (split.accs.empty()) return std::nullopt;
    split.chain = loop_chain(loop);
    split.extent = chain_extent(split.chain);
    return split;
}

bool aligned_contiguous(const Affine& a, int inner, int width) {
    if (a.coeff_of(inner) != 1 || a.constant % width != 0) return false;
    for (const auto& [v, c] : a.coeff)
        if (v != inner && c % width != 0) return false;
    return true;
}

bool contains(const std::vector<VectorAccess>& list, const VectorAccess& v) {
    return std::any_of(list.begin(), list.end(), [&](const VectorAccess& o) {
        return o.buffer == v.buffer && !(o.index < v.index) && !(v.index < o.index);
    });
}

// The vectorised thread mode: an elementwise point body (no loops, accumulators or atomics)
// whose every store is contiguous and aligned along the innermost point loop.
void try_vectorize(const IndexInfo& ix, int width, PhasePlan& p) {
    if (p.nest.empty() || width <= 1) return;
    const kir::Stmt& inner = *p.nest.back();
    if (inner.extent % width != 0) return;
    std::vector<VectorAccess> loads, stores;
    for (const kir::Stmt& s : *p.body) {
        if (s.kind == kir::StmtKind::Loop || s.kind == kir::StmtKind::StoreAdd || s.kind == kir::StmtKind::AccInit ||
            s.kind == kir::StmtKind::AccUpdate)
            return;
        if (s.kind == kir::StmtKind::Store) {
            auto a = ix.affine(s.index);
            if (!a || !aligned_contiguous(*a, inner.var, width)) return;
            VectorAccess v{s.buffer, *a};
            v.index.coeff.erase(inner.var);
            if (!contains(stores, v)) stores.push_back(v);
        }
        stmt_exprs(s, [&](const kir::Expr& e) {
            if (e.kind != kir::ExprKind::Load) return;
            auto a = ix.affine(e.args[0]);
            if (!a || !aligned_contiguous(*a, inner.var, width)) return;
            VectorAccess v{e.buffer, *a};
            v.index.coeff.erase(inner.var);
            if (!contains(loads, v)) loads.push_back(v);
        });
    }
    if (stores.empty()) return;
    p.vector_width = width;
    p.vector_loads = std::move(loads);
    p.vector_stores = std::move(stores);
}

PhasePlan plan_phase(const kir::Kernel& k, const IndexInfo& ix, const MappingConfig& c,
                     const std::vector<kir::Stmt>* top, const kir::Stmt* head) {
    PhasePlan p;
    if (head) {
        p.nest = loop_chain(*head);
        p.body = &p.nest.back()->body;
        p.points = chain_extent(p.nest);
    } else {
        p.body = top;
    }
    int64_t reduce = 0;
    for (const kir::Stmt& s : *p.body) {
        if (s.kind != kir::StmtKind::Loop) continue;
        if (auto split = as_split(k, s)) {
            reduce = std::max(reduce, split->extent);
            p.splits.emplace(&s, std::move(*split));
        }
    }
    if (reduce < c.min_split_extent) {
        p.splits.clear();
        p.mode = MapMode::Thread;
        try_vectorize(ix, c.vector_width, p);
        int64_t threads = p.points / p.vector_width;
        p.block = static_cast<int>(std::clamp<int64_t>((threads + 31) / 32 * 32, 32, c.block_threads));
        p.grid = (threads + p.block - 1) / p.block;
    } else if (reduce > c.max_warp_extent || p.points < c.min_warp_points) {
        p.mode = MapMode::Block;
        // No more threads than reduction elements (rounded up to whole warps).
        int64_t cap = p.points < kFewPoints ? kLargeBlockThreads : c.block_threads;
        p.block = static_cast<int>(std::min<int64_t>(cap, (reduce + 31) / 32 * 32));
        p.grid = p.points;
    } else {
        p.mode = MapMode::Warp;
        p.block = c.block_threads;
        p.grid = (p.points + c.block_threads / 32 - 1) / (c.block_threads / 32);
    }
    p.grid = std::clamp<int64_t>(p.grid, 1, kMaxGrid);
    return p;
}

}  // namespace

std::string_view map_mode_name(MapMode m) {
    switch (m) {
        case MapMode::Serial: return "serial";
        case MapMode::Thread: return "thread";
        case MapMode::Warp: return "warp";
        case MapMode::Block: return "block";
    }
    PG_UNREACHABLE();
}

bool MappingConfig::is_default() const { return *this == MappingConfig{}; }

std::string MappingConfig::to_string() const {
    return fmt::format("split{} warp{} wpts{} b{} v{}", min_split_extent, max_warp_extent, min_warp_points,
                       block_threads, vector_width);
}

void MappingConfig::validate() const {
    bool warps = block_threads >= 32 && block_threads <= 1024 && block_threads % 32 == 0;
    PG_ASSERT(warps && min_split_extent >= 2 && max_warp_extent >= min_split_extent && min_warp_points >= 1 &&
                  (vector_width == 1 || vector_width == 2 || vector_width == 4),
              "CUDA mapping config {}", to_string());
}

KernelPlan plan_kernel(const kir::Kernel& k, const IndexInfo& ix, const MappingConfig& config) {
    config.validate();
    KernelPlan plan;
    for_each_stmt(k.body, [&](const kir::Stmt& s) {
        if (s.kind == kir::StmtKind::Store || s.kind == kir::StmtKind::StoreAdd) plan.written.insert(s.buffer);
        stmt_exprs(s, [&](const kir::Expr& e) {
            if (e.kind == kir::ExprKind::Load) plan.loaded.insert(e.buffer);
        });
    });
    bool overlap = std::any_of(plan.written.begin(), plan.written.end(), [&](int b) { return plan.loaded.count(b); });
    if (overlap) {
        PhasePlan p;
        p.body = &k.body;
        p.mode = MapMode::Serial;
        p.block = 1;
        plan.phases.push_back(std::move(p));
        return plan;
    }
    bool all_loops = std::all_of(k.body.begin(), k.body.end(),
                                 [](const kir::Stmt& s) { return s.kind == kir::StmtKind::Loop; });
    if (all_loops) {
        for (const kir::Stmt& s : k.body) plan.phases.push_back(plan_phase(k, ix, config, &k.body, &s));
    } else {
        plan.phases.push_back(plan_phase(k, ix, config, &k.body, nullptr));
    }
    return plan;
}

namespace {

int find_slot(const std::vector<VectorAccess>& slots, const PhasePlan& p, const IndexInfo& ix, int buffer,
              const kir::ExprRef& index) {
    if (p.vector_width <= 1) return -1;
    int inner = p.nest.back()->var;
    auto a = ix.affine(index);
    if (!a || !aligned_contiguous(*a, inner, p.vector_width)) return -1;
    a->coeff.erase(inner);
    for (size_t i = 0; i < slots.size(); ++i)
        if (slots[i].buffer == buffer && !(slots[i].index < *a) && !(*a < slots[i].index)) return static_cast<int>(i);
    return -1;
}

}  // namespace

int vector_load_slot(const PhasePlan& p, const IndexInfo& ix, int buffer, const kir::ExprRef& index) {
    return find_slot(p.vector_loads, p, ix, buffer, index);
}

int vector_store_slot(const PhasePlan& p, const IndexInfo& ix, int buffer, const kir::ExprRef& index) {
    return find_slot(p.vector_stores, p, ix, buffer, index);
}

std::string describe(const KernelPlan& p) {
    std::string out;
    for (size_t i = 0; i < p.phases.size(); ++i) {
        const PhasePlan& ph = p.phases[i];
        int64_t reduce = 0;
        for (const auto& [s, split] : ph.splits) reduce = std::max(reduce, split.extent);
        out += fmt::format("{}{}{} points={}{} grid={}x{}", i ? "; " : "", map_mode_name(ph.mode),
                           ph.vector_width > 1 ? fmt::format(" x{}", ph.vector_width) : "", ph.points,
                           reduce ? fmt::format(" reduce={}", reduce) : "", ph.grid, ph.block);
    }
    return out;
}

}  // namespace pg::cuda
