// kir -> CUDA C++ (see cuda_renderer.h): phases, point loops, split reductions, vectorised
// bodies. Expressions and value conversions live in cuda_expr.cpp, mapping decisions in
// cuda_mapping.cpp.
#include "codegen/cuda/cuda_renderer.h"

#include <fmt/format.h>

#include <cctype>
#include <functional>
#include <limits>
#include <map>

#include "base/digest.h"
#include "base/error.h"
#include "codegen/cuda/cuda_expr.h"
#include "codegen/cuda/cuda_mapping.h"

namespace pg {
namespace {

using cuda::CType;
using cuda::ExprWriter;
using cuda::MapMode;
using cuda::PhasePlan;

// "k012_mul" -> "mul": the op part of a plan name, as a C identifier of at most 24 characters.
std::string entry_hint(const std::string& name) {
    std::string h = name;
    if (h.size() > 1 && h[0] == 'k' && std::isdigit(static_cast<unsigned char>(h[1]))) {
        size_t us = h.find('_');
        if (us != std::string::npos) h = h.substr(us + 1);
    }
    std::string out;
    for (char c : h)
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') out += c;
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "k" + out;
    return out.substr(0, 24);
}

std::string canonical_kir(const kir::Kernel& k) {
    std::string text = kir::to_string(k);
    std::string prefix = "kernel " + k.name + "(";
    PG_ASSERT(text.rfind(prefix, 0) == 0, "unexpected kir text for {}", k.name);
    return "kernel k(" + text.substr(prefix.size());
}

class Writer {
public:
    Writer(const kir::Kernel& k, const cuda::MappingConfig& config)
        : k_(k), config_(config), ix_(k), ex_(k, ix_), plan_(cuda::plan_kernel(k, ix_, config)) {
        scan_acc_inits(k.body);
    }

    CudaKernelSource run() {
        std::string canonical = canonical_kir(k_);
        // A tuned mapping is part of the entry's identity: the default keeps its historic names.
        std::string identity = config_.is_default() ? canonical : canonical + "\nmapping " + config_.to_string();
        std::string base = entry_hint(k_.name) + "_" + sha256_hex(identity).substr(0, 12);
        CudaKernelSource src;
        src.name = k_.name;
        src.mapping = cuda::describe(plan_);
        out_ = fmt::format("// {}: {}\n", base, src.mapping);
        size_t start = 0;
        while (start < canonical.size()) {
            size_t end = canonical.find('\n', start);
            out_ += "// " + canonical.substr(start, end - start) + "\n";
            start = end + 1;
        }
        for (size_t i = 0; i < plan_.phases.size(); ++i) {
            CudaLaunch launch;
            launch.entry = fmt::format("{}_p{}", base, i);
            launch.grid = {plan_.phases[i].grid, 1, 1};
            launch.block = plan_.phases[i].block;
            phase(plan_.phases[i], launch.entry);
            src.launches.push_back(launch);
        }
        src.source = std::move(out_);
        return src;
    }

private:
    void line(const std::string& s) { out_ += std::string(static_cast<size_t>(2 * depth_), ' ') + s + "\n"; }
    void open(const std::string& s) {
        line(s + " {");
        ++depth_;
    }
    void close() {
        --depth_;
        line("}");
    }

    void scan_acc_inits(const std::vector<kir::Stmt>& body) {
        for (const kir::Stmt& s : body) {
            if (s.kind == kir::StmtKind::AccInit) acc_init_[s.var] = &s;
            if (s.kind == kir::StmtKind::Loop) scan_acc_inits(s.body);
        }
    }

    std::string params() const {
        std::string p;
        for (size_t i = 0; i < k_.buffers.size(); ++i)
            p += fmt::format("{}{}{}* __restrict__ b{}", i ? ", " : "", plan_.written.count(static_cast<int>(i)) ? "" : "const ",
                             cuda::memory_type(k_.buffers[i].dtype), i);
        return p;
    }

    void phase(const PhasePlan& ph, const std::string& entry) {
        ph_ = &ph;
        group_ = ph.mode == MapMode::Warp || ph.mode == MapMode::Block;
        out_ += "\n";
        open(fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({})", ph.block, entry, params()));
        if (ph.mode == MapMode::Serial) {
            line("if (blockIdx.x != 0 || threadIdx.x != 0) return;");
            stmts(*ph.body, false);
            close();
            return;
        }
        int64_t points = ph.points / ph.vector_width;
        bool wide = points > INT32_MAX;
        std::string idx = wide ? "pg_u64" : "pg_u32", u = wide ? "ull" : "u";
        if (ph.mode == MapMode::Thread) {
            open(fmt::format("for ({0} pg_p = ({0})blockIdx.x * {1}{2} + threadIdx.x; pg_p < {3}{2}; pg_p += ({0})gridDim.x * {1}{2})",
                             idx, ph.block, u, points));
        } else if (ph.mode == MapMode::Warp) {
            line("const int pg_lane = (int)(threadIdx.x & 31u);");
            line("const bool pg_leader = pg_lane == 0;");
            int per_block = ph.block / 32;
            open(fmt::format("for ({0} pg_p = ({0})blockIdx.x * {1}{2} + (threadIdx.x >> 5); pg_p < {3}{2}; pg_p += ({0})gridDim.x * {1}{2})",
                             idx, per_block, u, points));
        } else {
            line("const int pg_lane = (int)threadIdx.x;");
            line("const bool pg_leader = pg_lane == 0;");
            open(fmt::format("for ({0} pg_p = blockIdx.x; pg_p < {1}{2}; pg_p += gridDim.x)", idx, points, u));
        }
        decompose("pg_p", u, ph.nest, ph.vector_width);
        if (ph.vector_width > 1) {
            vector_body(ph);
        } else {
            stmts(*ph.body, true);
        }
        close();
        close();
    }

    // Declares the loop vars of `chain` from the flat index `flat` (innermost fastest); with a
    // vector width, the innermost var's vector base "pg_base" instead.
    void decompose(const std::string& flat, const std::string& u, const std::vector<const kir::Stmt*>& chain, int width) {
        std::vector<int64_t> stride(chain.size(), 1);
        int64_t s = 1;
        for (size_t d = chain.size(); d-- > 0;) {
            stride[d] = s;
            s *= chain[d]->extent / (d + 1 == chain.size() ? width : 1);
        }
        for (size_t d = 0; d < chain.size(); ++d) {
            int64_t ext = chain[d]->extent / (d + 1 == chain.size() ? width : 1);
            std::string v = flat;
            if (stride[d] > 1) v = fmt::format("{} / {}{}", v, stride[d], u);
            if (d > 0) v = fmt::format("{} % {}{}", v, ext, u);
            std::string_view t = cuda::ctype_name(ex_.var_type(chain[d]->var));
            if (d + 1 == chain.size() && width > 1)
                line(fmt::format("const {0} pg_base = ({0})({1}) * {2};", t, v, width));
            else
                line(fmt::format("const {0} {1} = ({0})({2});", t, ex_.var_name(chain[d]->var), v));
        }
    }

    // base + sum(coeff * var) + constant, in 64-bit arithmetic when it could exceed int32.
    std::string affine_text(const cuda::Affine& a, int64_t base_hi) const {
        __int128 bound = static_cast<__int128>(a.constant < 0 ? -a.constant : a.constant) + base_hi;
        for (const auto& [v, c] : a.coeff) bound += static_cast<__int128>(c < 0 ? -c : c) * ix_.var_range(v).hi;
        std::string s = bound > INT32_MAX ? "(long long)pg_base" : "pg_base";
        for (const auto& [v, c] : a.coeff)
            s += c == 1 ? fmt::format(" + {}", ex_.var_name(v)) : fmt::format(" + {} * {}", ex_.var_name(v), c);
        if (a.constant) s += fmt::format(" + {}", a.constant);
        return s;
    }

    void vector_body(const PhasePlan& ph) {
        const int w = ph.vector_width;
        int inner = ph.nest.back()->var;
        int64_t base_hi = ph.nest.back()->extent;
        for (size_t i = 0; i < ph.vector_loads.size(); ++i) {
            const cuda::VectorAccess& v = ph.vector_loads[i];
            std::string_view mt = cuda::memory_type(k_.buffers[v.buffer].dtype);
            line(fmt::format("const PgVec<{0}, {1}> pg_ld{2} = pg_load_vec<{0}, {1}>(b{3} + ({4}));", mt, w, i, v.buffer,
                             affine_text(v.index, base_hi)));
        }
        for (size_t i = 0; i < ph.vector_stores.size(); ++i)
            line(fmt::format("PgVec<{}, {}> pg_st{};", cuda::memory_type(k_.buffers[ph.vector_stores[i].buffer].dtype), w, i));
        ex_.load_override = [&](const kir::Expr& load) -> std::optional<std::string> {
            int slot = cuda::vector_load_slot(ph, ix_, load.buffer, load.args[0]);
            if (slot < 0) return std::nullopt;
            return fmt::format("pg_ld{}.v[pg_j]", slot);
        };
        line("#pragma unroll");
        open(fmt::format("for (int pg_j = 0; pg_j < {}; ++pg_j)", w));
        std::string_view t = cuda::ctype_name(ex_.var_type(inner));
        std::string name = ex_.var_name(inner);
        size_t decl = out_.size();
        line(fmt::format("const {} {} = pg_base + pg_j;", t, name));
        size_t body = out_.size();
        stmts(*ph.body, true);
        // Drop the var when every access went through the vectors (no unused-variable warning).
        if (!cuda::mentions_identifier(out_.substr(body), name)) out_.erase(decl, body - decl);
        close();
        ex_.load_override = nullptr;
        for (size_t i = 0; i < ph.vector_stores.size(); ++i) {
            const cuda::VectorAccess& v = ph.vector_stores[i];
            line(fmt::format("pg_store_vec<{}, {}>(b{} + ({}), pg_st{});", cuda::memory_type(k_.buffers[v.buffer].dtype), w,
                             v.buffer, affine_text(v.index, base_hi), i));
        }
    }

    std::string guarded(const std::string& stmt) const { return group_ ? "if (pg_leader) " + stmt : stmt; }

    void stmts(const std::vector<kir::Stmt>& body, bool point_level) {
        for (const kir::Stmt& s : body) {
            switch (s.kind) {
                case kir::StmtKind::Loop: {
                    if (point_level && group_) {
                        auto it = ph_->splits.find(&s);
                        if (it != ph_->splits.end()) {
                            split(it->second, body);
                            break;
                        }
                    }
                    std::string_view t = cuda::ctype_name(ex_.var_type(s.var));
                    std::string v = ex_.var_name(s.var);
                    open(fmt::format("for ({} {} = 0; {} < {}; ++{})", t, v, v, s.extent, v));
                    stmts(s.body, false);
                    close();
                    break;
                }
                case kir::StmtKind::Let: {
                    CType t = ex_.var_type(s.var);
                    line(fmt::format("const {} {} = {};", cuda::ctype_name(t), ex_.var_name(s.var),
                                     ExprWriter::coerce(ex_.expr(s.value), ex_.type_of(s.value), t)));
                    break;
                }
                case kir::StmtKind::Store: {
                    DType bt = k_.buffers[s.buffer].dtype;
                    std::string v = ExprWriter::to_memory(ex_.expr(s.value), ex_.type_of(s.value), bt);
                    int slot = ph_ && ph_->vector_width > 1 ? cuda::vector_store_slot(*ph_, ix_, s.buffer, s.index) : -1;
                    if (slot >= 0)
                        line(fmt::format("pg_st{}.v[pg_j] = {};", slot, v));
                    else
                        line(guarded(fmt::format("b{}[{}] = {};", s.buffer, ex_.expr(s.index), v)));
                    break;
                }
                case kir::StmtKind::StoreAdd:
                    line(guarded(ex_.atomic_add(s.buffer, ex_.expr(s.index), ex_.expr(s.value), ex_.type_of(s.value))));
                    break;
                case kir::StmtKind::AccInit: {
                    CType t = ex_.var_type(s.var);
                    line(fmt::format("{} {} = {};", cuda::ctype_name(t), ex_.var_name(s.var),
                                     ex_.convert(ex_.expr(s.value), s.value->dtype, k_.vars[s.var].dtype)));
                    break;
                }
                case kir::StmtKind::AccUpdate: {
                    DType t = k_.vars[s.var].dtype;
                    std::string acc = ex_.var_name(s.var);
                    std::string x = ex_.convert(ex_.expr(s.value), s.value->dtype, t);
                    CType xt = is_float(t) ? CType::Float : t == DType::boolean ? CType::Bool : CType::I64;
                    line(fmt::format("{} = {};", acc, ex_.binary(s.op, acc, ex_.var_type(s.var), x, xt, t)));
                    break;
                }
            }
        }
    }

    static std::string identity(Op op, DType t) {
        if (op == Op::Add) return t == DType::f32 ? "0.0f" : "0LL";
        return t == DType::f32 ? "(-__int_as_float(0x7f800000))" : "(-9223372036854775807LL - 1)";
    }

    // Whether a split accumulator must keep a value from before the split loop: its init is not
    // the combine's identity, or another statement of the point body also updates it.
    bool needs_save(int acc, Op op, const std::vector<kir::Stmt>& body) const {
        auto it = acc_init_.find(acc);
        if (it == acc_init_.end()) return true;
        const kir::Expr& init = *it->second->value;
        bool is_identity = init.kind == kir::ExprKind::Const &&
                           (op == Op::Add ? init.value == 0 : init.value == -std::numeric_limits<double>::infinity() ||
                                                                  init.value == static_cast<double>(INT64_MIN));
        int updaters = 0;
        std::function<bool(const kir::Stmt&)> updates = [&](const kir::Stmt& s) {
            if (s.kind == kir::StmtKind::AccUpdate && s.var == acc) return true;
            for (const kir::Stmt& c : s.body)
                if (updates(c)) return true;
            return false;
        };
        for (const kir::Stmt& s : body) updaters += updates(s);
        return !is_identity || updaters != 1;
    }

    void split(const cuda::SplitLoop& sp, const std::vector<kir::Stmt>& body) {
        bool warp = ph_->mode == MapMode::Warp;
        int group = warp ? 32 : ph_->block;
        line(fmt::format("{{  // reduction of extent {} split across the {}", sp.extent, warp ? "warp" : "block"));
        ++depth_;
        std::vector<bool> save(sp.accs.size());
        for (size_t i = 0; i < sp.accs.size(); ++i) {
            DType t = k_.vars[sp.accs[i]].dtype;
            save[i] = needs_save(sp.accs[i], sp.ops[i], body);
            if (!save[i]) continue;
            std::string a = ex_.var_name(sp.accs[i]);
            line(fmt::format("const {} pg_save_{} = {};", cuda::ctype_name(ex_.var_type(sp.accs[i])), a, a));
            line(fmt::format("{} = {};", a, identity(sp.ops[i], t)));
        }
        bool wide = sp.extent > INT32_MAX;
        std::string rt = wide ? "long long" : "int";
        open(fmt::format("for ({0} pg_r = pg_lane; pg_r < {1}; pg_r += {2})", rt, sp.extent, group));
        std::string flat = wide ? "(pg_u64)pg_r" : "(pg_u32)pg_r";
        decompose(flat, wide ? "ull" : "u", sp.chain, 1);
        stmts(sp.chain.back()->body, false);
        close();
        for (size_t i = 0; i < sp.accs.size(); ++i) {
            std::string a = ex_.var_name(sp.accs[i]);
            line(fmt::format("{0} = pg_{1}_reduce({0}, {2}());", a, warp ? "warp" : "block", sp.ops[i] == Op::Add ? "PgSum" : "PgMax"));
            if (save[i]) {
                DType t = k_.vars[sp.accs[i]].dtype;
                CType ct = ex_.var_type(sp.accs[i]);
                line(fmt::format("{} = {};", a, ex_.binary(sp.ops[i], "pg_save_" + a, ct, a, ct, t)));
            }
        }
        close();
    }

    const kir::Kernel& k_;
    cuda::MappingConfig config_;
    cuda::IndexInfo ix_;
    ExprWriter ex_;
    cuda::KernelPlan plan_;
    std::map<int, const kir::Stmt*> acc_init_;
    const PhasePlan* ph_ = nullptr;
    bool group_ = false;
    std::string out_;
    int depth_ = 0;
};

}  // namespace

std::string kir_content_digest(const kir::Kernel& k) { return sha256_hex(canonical_kir(k)).substr(0, 12); }

CudaKernelSource render_cuda(const kir::Kernel& k, const cuda::MappingConfig& config) { return Writer(k, config).run(); }

}  // namespace pg
