// LlvmRenderer: turns one kir::Kernel into an llvm::Module defining
//   extern "C" void <name>(void** buffers, int64_t begin, int64_t end)
// with the calling convention of kir.h. Only forward declarations of LLVM types here, so that
// including this header costs nothing; the ORC compiler (runtime/cpu_jit.cpp) optimises the
// module and emits object code.
//
// Value representation:
//   f32, bf16, f16   computed as float; bf16/f16 results are rounded to their dtype after every
//                    op (bf16: round-to-nearest-even on the f32 bits, as f32_to_bf16_bits; f16:
//                    exact bit conversion, see the .cpp), so SSA values always hold exact values
//                    of their dtype.
//   i64 i32 u16 u8   computed as i64; results are wrapped to their dtype after every op (trunc,
//                    then sign-extension for i32, zero-extension for u16/u8), loads extend the
//                    same way. Comparisons are therefore signed on all of them.
//   bool             i1, stored as one byte (0 or 1).
// Integer division by zero yields 0 instead of trapping (the reference interpreter reports it as
// an error; a JIT kernel must not kill the process).
#pragma once
#include <memory>

#include "codegen/kir.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace pg {

// Renders k (which must pass kir::verify) into a new module in ctx. The module has no target
// triple or data layout; the compiler sets them. Throws InternalError on a kernel the renderer
// cannot express or on an LLVM verifier failure.
std::unique_ptr<llvm::Module> render_llvm(const kir::Kernel& k, llvm::LLVMContext& ctx);

// Textual IR of a module (for dumps and tests).
std::string module_text(const llvm::Module& m);

// With PG_DUMP_DIR set, writes <dir>/<kernel>.kir; with `optimized` also <dir>/<kernel>.ll.
void dump_llvm_kernel(const kir::Kernel& k, const llvm::Module* optimized);

}  // namespace pg
