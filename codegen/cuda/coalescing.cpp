// Static coalescing of kir kernels (see coalescing.h).
#include "codegen/cuda/coalescing.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "base/error.h"
#include "codegen/cuda/kir_index.h"

namespace pg::cuda {
namespace {

// i64 index expressions at one assignment of the loop variables (Let vars through their values);
// nullopt where an index depends on memory or an accumulator.
class IndexEval {
public:
    explicit IndexEval(const kir::Kernel& k) { collect_lets(k.body); }

    void set(int var, int64_t value) { vars_[var] = value; }

    std::optional<int64_t> operator()(const kir::ExprRef& e) const {
        switch (e->kind) {
            case kir::ExprKind::Const: return static_cast<int64_t>(e->value);
            case kir::ExprKind::Var: {
                if (auto it = vars_.find(e->var); it != vars_.end()) return it->second;
                if (auto it = lets_.find(e->var); it != lets_.end()) return (*this)(it->second);
                return std::nullopt;
            }
            case kir::ExprKind::Load: return std::nullopt;
            case kir::ExprKind::IDiv:
            case kir::ExprKind::IMod: {
                auto a = (*this)(e->args[0]), b = (*this)(e->args[1]);
                if (!a || !b || *b == 0) return std::nullopt;
                return e->kind == kir::ExprKind::IDiv ? *a / *b : *a % *b;
            }
            case kir::ExprKind::Compute: return compute(*e);
        }
        return std::nullopt;
    }

private:
    std::optional<int64_t> compute(const kir::Expr& e) const {
        std::vector<int64_t> a;
        for (const kir::ExprRef& x : e.args) {
            auto v = (*this)(x);
            if (!v) return std::nullopt;
            a.push_back(*v);
        }
        switch (e.op) {
            case Op::Add: return a[0] + a[1];
            case Op::Sub: return a[0] - a[1];
            case Op::Mul: return a[0] * a[1];
            case Op::Min: return std::min(a[0], a[1]);
            case Op::Max: return std::max(a[0], a[1]);
            case Op::Neg: return -a[0];
            case Op::Cast: return is_float(e.dtype) ? std::nullopt : std::optional<int64_t>(a[0]);
            default: return std::nullopt;
        }
    }

    void collect_lets(const std::vector<kir::Stmt>& body) {
        for (const kir::Stmt& s : body) {
            if (s.kind == kir::StmtKind::Let) lets_[s.var] = s.value;
            if (s.kind == kir::StmtKind::Loop) collect_lets(s.body);
        }
    }

    std::map<int, kir::ExprRef> lets_;
    std::map<int, int64_t> vars_;
};

// The lanes of one warp-wide request: the loop variable neighbouring lanes advance, by how much,
// and how many lanes issue it (1: a store only the group's leader makes).
struct Lanes {
    int var = -1;  // -1: every lane uses one index (a broadcast)
    int64_t step = 1;
    int64_t width = 1;  // elements per lane (vectorised thread mode)
};

class Walker {
public:
    Walker(const kir::Kernel& k, std::vector<BufferTraffic>& out) : k_(k), eval_(k), out_(out) {}

    void phase(const PhasePlan& p) {
        if (p.mode == MapMode::Serial) return;  // one thread: nothing to coalesce
        phase_ = &p;
        for (const kir::Stmt* l : p.nest) eval_.set(l->var, l->extent / 2);
        Lanes lanes;
        if (p.mode == MapMode::Thread && !p.nest.empty()) lanes = {p.nest.back()->var, p.vector_width, p.vector_width};
        double points = static_cast<double>(p.points);
        body(*p.body, lanes, points);
    }

private:
    void body(const std::vector<kir::Stmt>& stmts, const Lanes& lanes, double execs) {
        for (const kir::Stmt& s : stmts) {
            if (s.kind == kir::StmtKind::Loop) {
                eval_.set(s.var, s.extent / 2);
                auto split = phase_->splits.find(&s);
                Lanes inner = lanes;
                if (split != phase_->splits.end()) inner = {split->second.chain.back()->var, 1, 1};
                body(s.body, inner, execs * static_cast<double>(s.extent));
                continue;
            }
            access_exprs(s.value, lanes, execs);
            access_exprs(s.index, lanes, execs);
            if (s.kind == kir::StmtKind::Store || s.kind == kir::StmtKind::StoreAdd)
                access(s.buffer, s.index, lanes, execs, s.kind == kir::StmtKind::StoreAdd);
        }
    }

    void access_exprs(const kir::ExprRef& e, const Lanes& lanes, double execs) {
        if (!e) return;
        if (e->kind == kir::ExprKind::Load) access(e->buffer, e->args[0], lanes, execs, false);
        for (const kir::ExprRef& a : e->args) access_exprs(a, lanes, execs);
    }

    // How far the index moves when the lane variable advances by `by` (unknown: as if by `by`).
    int64_t stride(const kir::ExprRef& index, const Lanes& lanes, int64_t by) {
        auto at = eval_(index);
        eval_.set(lanes.var, lane_value(lanes) + by);
        auto next = eval_(index);
        eval_.set(lanes.var, lane_value(lanes));
        return at && next ? std::llabs(*next - *at) : by;
    }

    // One access executed `execs` times. In the vectorised thread mode a lane covers `width`
    // points: one 16-byte access where the index is contiguous along them, else `width` scalar
    // requests whose lanes are `width` points apart.
    void access(int buffer, const kir::ExprRef& index, const Lanes& lanes, double execs, bool read_write) {
        const int64_t esize = static_cast<int64_t>(dtype_size(k_.buffers[static_cast<size_t>(buffer)].dtype));
        int64_t lane_stride = 0, per_lane = 1;
        if (lanes.var >= 0) {
            lane_stride = stride(index, lanes, lanes.step);
            if (lanes.width > 1 && stride(index, lanes, 1) == 1) per_lane = lanes.width;
        }
        const double requests = execs / static_cast<double>(per_lane) / 32.0;
        const double sectors = requests * warp_sectors(lane_stride * esize, per_lane * esize) * (read_write ? 2 : 1);
        BufferTraffic& t = out_[static_cast<size_t>(buffer)];
        t.requested += execs * static_cast<double>(esize) * (read_write ? 2 : 1);
        t.sector_bytes += 32.0 * sectors;
    }

    int64_t lane_value(const Lanes& lanes) const { return extents_middle(lanes.var); }

    int64_t extents_middle(int var) const {
        int64_t e = extent_of(k_.body, var);
        return e / 2;
    }

    static int64_t extent_of(const std::vector<kir::Stmt>& body, int var) {
        for (const kir::Stmt& s : body) {
            if (s.kind != kir::StmtKind::Loop) continue;
            if (s.var == var) return s.extent;
            if (int64_t e = extent_of(s.body, var)) return e;
        }
        return 0;
    }

    const kir::Kernel& k_;
    IndexEval eval_;
    std::vector<BufferTraffic>& out_;
    const PhasePlan* phase_ = nullptr;
};

}  // namespace

int warp_sectors(int64_t stride_bytes, int64_t bytes) {
    std::set<int64_t> sectors;
    for (int64_t lane = 0; lane < 32; ++lane)
        for (int64_t s = lane * stride_bytes / 32; s <= (lane * stride_bytes + bytes - 1) / 32; ++s) sectors.insert(s);
    return static_cast<int>(sectors.size());
}

std::vector<BufferTraffic> buffer_traffic(const kir::Kernel& k, const MappingConfig& config) {
    IndexInfo ix(k);
    KernelPlan plan = plan_kernel(k, ix, config);
    std::vector<BufferTraffic> out(k.buffers.size());
    Walker w(k, out);
    for (const PhasePlan& p : plan.phases) w.phase(p);
    return out;
}

}  // namespace pg::cuda
