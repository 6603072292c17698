// Kernel IR: what every backend renders. A kernel is a structured loop nest over buffers whose
// statements use SSA expressions. Values of float dtypes are computed in f32 and rounded to their
// dtype (bf16/f16) after every operation, which is exactly what the reference interpreter does.
//
// Calling convention of a compiled CPU kernel:
//   extern "C" void <name>(void** buffers, int64_t begin, int64_t end);
// buffers[i] points at Kernel::buffers[i]. If the kernel's first statement is a Loop marked
// `parallel`, that loop runs over [begin, end) instead of [0, extent) so that the runtime can split
// it across threads; otherwise begin/end are ignored.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/dtype.h"
#include "graph/op.h"

namespace pg::kir {

enum class ExprKind : uint8_t {
    Const,   // value, dtype
    Var,     // var (a loop variable, a Let or an accumulator)
    Load,    // buffer, args[0] = element index (i64); dtype = the buffer's dtype
    Compute, // op (an elementwise pg::Op: unary, binary, Select, Cast), args
    IDiv,    // i64 args[0] / args[1], both non-negative (index arithmetic)
    IMod,    // i64 args[0] % args[1], both non-negative
};

struct Expr;
using ExprRef = std::shared_ptr<const Expr>;

struct Expr {
    ExprKind kind = ExprKind::Const;
    DType dtype = DType::f32;
    Op op = Op::Add;      // Compute only
    double value = 0;     // Const only
    int var = -1;         // Var only
    int buffer = -1;      // Load only
    std::vector<ExprRef> args;
};

// Expression constructors; Compute folds nothing, it only builds.
ExprRef constant(double value, DType dtype);
ExprRef index_const(int64_t value);  // i64 constant
ExprRef var(int id, DType dtype);
ExprRef load(int buffer, DType dtype, ExprRef index);
ExprRef compute(Op op, DType dtype, std::vector<ExprRef> args);
ExprRef idiv(ExprRef a, ExprRef b);
ExprRef imod(ExprRef a, ExprRef b);
// i64 index arithmetic with light constant folding (x*1, x+0, 0*x).
ExprRef iadd(ExprRef a, ExprRef b);
ExprRef imul(ExprRef a, ExprRef b);
ExprRef imin(ExprRef a, ExprRef b);
ExprRef imax(ExprRef a, ExprRef b);
bool is_const(const ExprRef& e, double value);

enum class StmtKind : uint8_t {
    Loop,       // var (i64) from 0 to extent (or [begin, end) when parallel); body
    Let,        // var = value (SSA: defined once)
    Store,      // buffers[buffer][index] = value (converted to the buffer's dtype)
    StoreAdd,   // buffers[buffer][index] += value (serial read-modify-write)
    AccInit,    // mutable accumulator var = value
    AccUpdate,  // var = op(var, value), op is Add or Max
};

struct Stmt {
    StmtKind kind = StmtKind::Let;
    int var = -1;
    int64_t extent = 0;     // Loop
    bool parallel = false;  // Loop: split across threads (only a kernel's top-level first statement)
    bool serial = false;    // Loop: runs in order inside one CUDA thread, never mapped onto threads
                            // (set by codegen/cuda/owner_adds.h for PG_DETERMINISTIC)
    int buffer = -1;        // Store / StoreAdd
    Op op = Op::Add;        // AccUpdate
    ExprRef index;          // Store / StoreAdd
    ExprRef value;          // Let / Store / StoreAdd / AccInit / AccUpdate
    std::vector<Stmt> body; // Loop
};

struct BufferParam {
    std::string name;  // the graph node it holds, for dumps
    DType dtype = DType::f32;
    int64_t numel = 0;
    bool written = false;
};

struct VarInfo {
    std::string name;
    DType dtype = DType::i64;
};

struct Kernel {
    std::string name;  // stable: derived from the schedule position and root op
    std::vector<BufferParam> buffers;
    std::vector<VarInfo> vars;
    std::vector<Stmt> body;

    int new_var(std::string name, DType dtype);
    // Extent of the top-level parallel loop, or 1 if the kernel has none.
    int64_t parallel_extent() const;
};

// Canonical text of a kernel: deterministic, used for dumps, golden files and the kernel key.
std::string to_string(const Kernel& k);

// Structural checks: vars defined before use, loads/stores in declared buffers, dtypes consistent.
// Throws InternalError on a malformed kernel.
void verify(const Kernel& k);

}  // namespace pg::kir
