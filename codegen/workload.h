// Workload keys: what the tuning database files a decision under. A workload is a kernel's
// signature and shapes, independent of where it sits in a plan, so that a decision tuned for one
// training step applies to every equal kernel of every graph (the micro-step, the optimizer, the
// evaluation) and to the next run with the same settings. Keys are readable text:
//   "matmul f32 [4,256,128]x[128,512] nt"                 a matmul node (library or generated) and
//                                                         its operands' layout: t = a transposed view
//                                                         (a generated loop kernel reads it strided)
//   "gemm f32 1024x512x128 batch 1 nn lda 128 ldb 512"    a Gemm step (its operand layout too)
//   "loop mul f32 [4,256,512] kir 3fa9c2e1a0b2"           a Loop/ScatterAdd step (its kir digest)
#pragma once
#include <string>

#include "codegen/kir.h"
#include "graph/graph.h"
#include "ops/gemm/gemm_problem.h"

namespace pg {

std::string matmul_workload(const Graph& g, NodeId matmul);
// Whether `operand` is a Permute that swaps its last two axes (a transposed weight or activation).
bool is_transposed_view(const Graph& g, NodeId operand);
std::string gemm_workload(const gemm::GemmProblem& p);
// `root` is the kernel's root node in `g`; the digest covers the kir without the kernel's name.
std::string loop_workload(const Graph& g, NodeId root, const kir::Kernel& k);

}  // namespace pg
