// Autotuner inputs (see tuning_inputs.h).
#include "runtime/tuning/tuning_inputs.h"

namespace pg {
namespace {

HostTensor leaf_value(const PlanLeaf& leaf, uint64_t seed) {
    HostTensor t(leaf.dtype, leaf.shape);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < t.numel(); ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = static_cast<double>(x >> 11) / 9007199254740992.0;
        t.set(i, leaf.role == LeafRole::Scalar ? 1.0 : is_float(leaf.dtype) ? u - 0.5 : static_cast<double>(i % 7));
    }
    return t;
}

}  // namespace

void fill_tuning_inputs(Executable& exe) {
    uint64_t seed = 1;
    for (const PlanLeaf& leaf : exe.plan().leaves) exe.set(leaf.name, leaf_value(leaf, seed++));
}

}  // namespace pg
