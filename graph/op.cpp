// Op table lookups (see op.h).
#include "graph/op.h"

#include "base/error.h"

namespace pg {
namespace {

struct OpInfo {
    std::string_view text;
    OpKind kind;
    int arity;
};

constexpr OpInfo kOps[] = {
#define PG_OP_INFO(name, text, kind, arity) {text, OpKind::kind, arity},
    PG_OPS(PG_OP_INFO)
#undef PG_OP_INFO
};

}  // namespace

std::string_view op_name(Op op) { return kOps[static_cast<int>(op)].text; }
OpKind op_kind(Op op) { return kOps[static_cast<int>(op)].kind; }
int op_arity(Op op) { return kOps[static_cast<int>(op)].arity; }

Op parse_op(std::string_view text) {
    for (size_t i = 0; i < std::size(kOps); ++i)
        if (kOps[i].text == text) return static_cast<Op>(i);
    throw Error(fmt::format("unknown op '{}'", text));
}

bool is_comparison(Op op) { return op >= Op::Lt && op <= Op::Ne; }

bool is_elementwise(Op op) {
    OpKind k = op_kind(op);
    return k == OpKind::Unary || k == OpKind::Binary || k == OpKind::Ternary;
}

}  // namespace pg
