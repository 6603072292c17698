// Shared op cases (see op_cases.h).
#include "tests/support/op_cases.h"

#include "graph/build.h"

namespace pg::testing {

std::vector<OpCase> composite_op_cases() {
    namespace b = build;
    return {
        {"cross_entropy, softcap 30",
         [](Graph& g) {
             NodeId logits = b::mul(g, b::param(g, "logits", {12, 40}), 20.0);
             NodeId t = b::input(g, "targets", {12}, DType::i64);
             return b::cross_entropy(g, logits, t, 30.0);
         }},
        {"rope(rms_norm), 8 of 16 dims rotated",
         [](Graph& g) { return b::rope(g, b::rms_norm(g, b::param(g, "x", {2, 7, 3, 16}), 1e-6), 8, 10000.0); }},
        {"attention, H=4 over Hkv=2",
         [](Graph& g) {
             NodeId q = b::param(g, "q", {2, 4, 9, 8});
             NodeId k = b::param(g, "k", {2, 2, 9, 8});
             NodeId v = b::param(g, "v", {2, 2, 9, 8});
             return b::attention(g, q, k, v, 0.35);
         }},
    };
}

}  // namespace pg::testing
