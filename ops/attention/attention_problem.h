// An attention template instance as the schedule hands it to a backend: which pass of flash
// attention (the forward writing out and lse, the dq pass, or the dk/dv pass), the extents and the
// buffer order. Every tensor is contiguous:
//   q, dout, out, dq [B, H, T, D]; k, v, dk, dv [B, Hkv, T, D]; lse, delta [B, H, T] f32.
// Buffers: the pass's outputs that the graph uses (has_output), then its inputs:
//   Forward  outputs (out, lse)  inputs (q, k, v)
//   GradQ    outputs (dq)        inputs (q, k, v, dout, lse, delta)
//   GradKV   outputs (dk, dv)    inputs (q, k, v, dout, lse, delta)
// With document masking (doc_mask) one more input follows: doc_start [B, T] i32, the position of
// the BOS opening each token's document (graph/op.h Attention); query i then sees keys
// doc_start[i] <= j <= i only, and the passes skip the key (query) blocks that no row of a query
// (key) block sees.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pg::attn {

enum class Pass : uint8_t { Forward, GradQ, GradKV };

struct AttentionProblem {
    Pass pass = Pass::Forward;
    DType dtype = DType::f32;  // of q, k, v, dout, out and the gradients
    int64_t b = 1, h = 1, hkv = 1, t = 1, d = 1;
    double scale = 1;
    bool doc_mask = false;                        // doc_start is the last input
    std::array<bool, 2> has_output{true, false};  // per output slot

    int64_t group() const { return h / hkv; }
    int output_slots() const { return pass == Pass::GradQ ? 1 : 2; }
    int input_count() const { return (pass == Pass::Forward ? 3 : 6) + (doc_mask ? 1 : 0); }
    // Multiply-adds of the [T, T] products a causal pass computes (blocks above the diagonal
    // skipped, so about half of T * T per head): 2 products forward, 3 for dq, 4 for dk and dv.
    // With doc_mask this is an upper bound: the products run over the documents' own squares.
    double flops() const;
    std::string to_string() const;  // "forward b2 h4/2 t9 d8 f32" (+ " docs")
    void validate() const;
};

// The pass and output slot a template node computes: Attention -> (Forward, 0), AttentionLse ->
// (Forward, 1), AttentionGrad which 0 -> (GradQ, 0), 1 -> (GradKV, 0), 2 -> (GradKV, 1).
bool is_template_op(Op op);
Pass pass_of(const Node& n);
int slot_of(const Node& n);

// The problem of the template node `id` (its inputs give the extents); has_output marks `id`'s
// slot only: the schedule adds the siblings.
AttentionProblem problem_of(const Graph& g, NodeId id);

// The buffers in slot order (outputs_slots() outputs, then the inputs) with nullptr for the
// outputs the graph does not use, from the packed list of a plan step (present outputs only).
std::vector<void*> slot_buffers(const AttentionProblem& p, const std::vector<void*>& packed);

}  // namespace pg::attn
