// GEMM epilogues as CUDA text (see gemm_epilogue.h).
#include "codegen/cuda/gemm_epilogue.h"

#include <fmt/format.h>

#include <climits>

#include "base/error.h"
#include "codegen/cuda/cuda_expr.h"
#include "codegen/cuda/kir_index.h"

namespace pg::cuda {
namespace {

// The loops of a perfect nest, outermost first, and the statements inside the innermost.
struct Nest {
    std::vector<const kir::Stmt*> loops;
    const std::vector<kir::Stmt>* body = nullptr;
};

Nest perfect_nest(const kir::Kernel& k) {
    Nest n;
    n.body = &k.body;
    while (n.body->size() == 1 && n.body->front().kind == kir::StmtKind::Loop) {
        n.loops.push_back(&n.body->front());
        n.body = &n.body->front().body;
    }
    return n;
}

// The flat index of the nest's element: var d times the product of the inner extents.
Affine flat_index(const Nest& n) {
    Affine a;
    int64_t stride = 1;
    for (size_t d = n.loops.size(); d-- > 0;) {
        a.coeff[n.loops[d]->var] = stride;
        stride *= n.loops[d]->extent;
    }
    return a;
}

class EpilogueWriter {
public:
    explicit EpilogueWriter(const kir::Kernel& k) : k_(k), ix_(k), ex_(k, ix_), nest_(perfect_nest(k)) {}

    // The function body: buffer pointers, the product's value, the used vars, the statements.
    std::string function_body() {
        const Affine flat = flat_index(nest_);
        ex_.load_override = [&](const kir::Expr& load) -> std::optional<std::string> {
            if (load.buffer != 0) return std::nullopt;
            auto a = ix_.affine(load.args[0]);
            PG_ASSERT(a && a->constant == flat.constant && a->coeff == flat.coeff,
                      "epilogue {} reads the product away from its own element", k_.name);
            return "pg_c";
        };
        std::string stmts;
        for (const kir::Stmt& s : *nest_.body) stmts += statement(s);
        std::string out;
        for (size_t b = 1; b < k_.buffers.size(); ++b)
            out += fmt::format("    {}* __restrict__ b{} = ep.b{};\n", pointee(b), b, b);
        DType product = k_.buffers.at(0).dtype;
        out += fmt::format("    const {} pg_c = {};\n", memory_type(product), ExprWriter::to_memory("pg_v", CType::Float, product));
        return out + loop_vars(stmts) + stmts;
    }

    std::string members() const {
        std::string out;
        for (size_t b = 1; b < k_.buffers.size(); ++b) out += fmt::format("    {}* b{};\n", pointee(b), b);
        return out;
    }

    std::string params() const {
        std::string out;
        for (size_t b = 1; b < k_.buffers.size(); ++b) out += fmt::format("{}{}* __restrict__ b{}", b > 1 ? ", " : "", pointee(b), b);
        return out;
    }

    std::string init() const {
        std::string out;
        for (size_t b = 1; b < k_.buffers.size(); ++b) out += fmt::format("{}b{}", b > 1 ? ", " : "", b);
        return out;
    }

private:
    std::string pointee(size_t b) const {
        return fmt::format("{}{}", k_.buffers[b].written ? "" : "const ", memory_type(k_.buffers[b].dtype));
    }

    // The nest's vars that `stmts` uses, from the flat index pg_i (in 32 bits when the product's
    // elements fit: a 64-bit division by a constant is a longer multiply-shift sequence).
    std::string loop_vars(const std::string& stmts) const {
        int64_t total = 1;
        for (const kir::Stmt* l : nest_.loops) total *= l->extent;
        const bool narrow = total <= INT32_MAX;
        const std::string flat = narrow ? "(pg_u32)pg_i" : "pg_i", u = narrow ? "u" : "LL";
        std::string out;
        int64_t stride = 1;
        std::vector<std::string> lines;
        for (size_t d = nest_.loops.size(); d-- > 0;) {
            const kir::Stmt& l = *nest_.loops[d];
            std::string v = stride > 1 ? fmt::format("{} / {}{}", flat, stride, u) : flat;
            if (d > 0) v = fmt::format("({}) % {}{}", v, l.extent, u);
            stride *= l.extent;
            if (!mentions_identifier(stmts, ex_.var_name(l.var))) continue;
            std::string_view t = ctype_name(ex_.var_type(l.var));
            lines.insert(lines.begin(), fmt::format("    const {0} {1} = ({0})({2});\n", t, ex_.var_name(l.var), v));
        }
        for (const std::string& line : lines) out += line;
        return out;
    }

    std::string statement(const kir::Stmt& s) const {
        if (s.kind == kir::StmtKind::Let) {
            CType t = ex_.var_type(s.var);
            return fmt::format("    const {} {} = {};\n", ctype_name(t), ex_.var_name(s.var),
                               ExprWriter::coerce(ex_.expr(s.value), ex_.type_of(s.value), t));
        }
        PG_ASSERT(s.kind == kir::StmtKind::Store, "epilogue {}: only lets and stores may finish an element", k_.name);
        std::string v = ExprWriter::to_memory(ex_.expr(s.value), ex_.type_of(s.value), k_.buffers[s.buffer].dtype);
        return fmt::format("    b{}[{}] = {};\n", s.buffer, ex_.expr(s.index), v);
    }

    const kir::Kernel& k_;
    IndexInfo ix_;
    ExprWriter ex_;
    Nest nest_;
};

}  // namespace

gemm::GemmEpilogue render_gemm_epilogue(const kir::Kernel& k, bool store_product) {
    kir::verify(k);
    EpilogueWriter w(k);
    gemm::GemmEpilogue e;
    e.definitions = fmt::format("struct Epilogue {{\n{}}};\n", w.members());
    e.definitions += "__device__ __forceinline__ void epilogue(const Epilogue& ep, long long pg_i, float pg_v) {\n";
    e.definitions += w.function_body() + "}\n";
    e.params = w.params();
    e.init = w.init();
    e.store_product = store_product;
    return e;
}

}  // namespace pg::cuda
