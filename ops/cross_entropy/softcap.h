// The softcapped logits and the target mask shared by the cross-entropy ops' expansions
// (cross_entropy.cpp, linear_cross_entropy.cpp): z = c * tanh(logits / c) in f32 (c = 0: the f32
// logits), and the [N, V] mask column == target. Interning makes equal pieces one node when a
// forward and a gradient expansion meet in one graph.
#pragma once
#include "graph/graph.h"

namespace pg::ce {

// tanh(logits / c) in f32, for logits already in f32.
NodeId capped_tanh(Graph& g, NodeId logits_f32, double cap);
// z: the logits in f32, softcapped when cap > 0.
NodeId capped_logits(Graph& g, NodeId logits, double cap);
// dz/dlogits = 1 - tanh^2(logits / c) (cap > 0).
NodeId softcap_slope(Graph& g, NodeId logits, double cap);
// [N, V] bool: column == the row's target (out-of-range targets select nothing).
NodeId target_mask(Graph& g, NodeId logits, NodeId targets);

}  // namespace pg::ce
