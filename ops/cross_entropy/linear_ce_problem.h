// A linear cross-entropy template instance (graph/op.h: LinearCrossEntropy and its gradient) as
// the schedule hands it to a backend: the pass, the extents and the buffer order. Every tensor is
// contiguous: x [N, d] and w [V, d] (dtype), targets [N] (target_dtype), stats and grad [N, 2] f32.
// Buffers: the output, then the inputs:
//   Forward  out stats [N, 2] f32 (loss, lse)   inputs (x, w, targets)
//   GradX    out dx [N, d]                      inputs (x, w, targets, stats, grad)
//   GradW    out dw [V, d]                      inputs (x, w, targets, stats, grad)
// Every pass recomputes the logits x wᵀ tile by tile; none holds [N, V].
#pragma once
#include <cstdint>
#include <string>

#include "graph/graph.h"

namespace pg::ce {

enum class Pass : uint8_t { Forward, GradX, GradW };

struct LinearCeProblem {
    Pass pass = Pass::Forward;
    DType dtype = DType::f32;         // of x, w and the gradients
    DType target_dtype = DType::i32;  // of targets
    int64_t n = 1, d = 1, v = 1;
    double cap = 0;                   // logit softcap (0: none)

    int input_count() const { return pass == Pass::Forward ? 3 : 5; }
    // Multiply-adds (x2) of the logits x wᵀ: the forward computes them once; a gradient pass
    // recomputes them `logit_passes` times (once per column chunk of its output, see
    // linear_ce_cuda.h; 1 on the CPU) and adds one product of the same size.
    double flops(int64_t logit_passes = 1) const;
    std::string to_string() const;  // "grad_x n70 d64 v100 cap30 bf16"
    void validate() const;
};

bool is_template_op(Op op);  // LinearCrossEntropy or LinearCrossEntropyGrad

// The problem of the template node `id` (its inputs give the extents).
LinearCeProblem problem_of(const Graph& g, NodeId id);

}  // namespace pg::ce
