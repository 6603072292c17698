// Newton–Schulz coefficient sets for Muon's orthogonalisation (pgolf-spec §3.4, §4.3): the
// baseline's fixed (a, b, c) for every iteration, or Polar Express's five per-iteration triples
// (PR #1344); with more iterations than triples the last triple repeats.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace pg {

using NsTriple = std::array<double, 3>;

// "baseline" or "polar_express"; anything else is a pg::Error naming NS_COEFFICIENTS.
std::vector<NsTriple> ns_coefficients(const std::string& set);

// The triple of iteration i (0-based).
NsTriple ns_triple(const std::vector<NsTriple>& set, int i);

}  // namespace pg
