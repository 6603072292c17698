// Newton–Schulz coefficient sets (see ns_coefficients.h).
#include "frontend/optim/ns_coefficients.h"

#include "base/error.h"

namespace pg {

std::vector<NsTriple> ns_coefficients(const std::string& set) {
    if (set == "baseline") return {{3.4445, -4.7750, 2.0315}};
    if (set == "polar_express")
        return {{8.156554524902461, -22.48329292557795, 15.878769915207462},
                {4.042929935166739, -2.808917465908714, 0.5000178451051316},
                {3.8916678022926607, -2.772484153217685, 0.5060648178503393},
                {3.285753657755655, -2.3681294933425376, 0.46449024233003106},
                {2.3465413258596377, -1.7097828382687081, 0.42323551169305323}};
    throw Error(fmt::format("NS_COEFFICIENTS={} is not a coefficient set (baseline, polar_express)", set));
}

NsTriple ns_triple(const std::vector<NsTriple>& set, int i) {
    return set[std::min(static_cast<size_t>(i), set.size() - 1)];
}

}  // namespace pg
