// Virtual layer order (see layer_plan.h).
#include "frontend/models/layer_plan.h"

#include "base/error.h"

namespace pg {

LayerPlan plan_layers(const GptConfig& cfg) {
    const VariantConfig& v = cfg.variant;
    const int64_t L = cfg.num_layers;
    LayerPlan plan;
    if (v.num_loops <= 0) {
        for (int64_t i = 0; i < L; ++i) plan.order.push_back(i);
        return plan;
    }
    PG_CHECK(v.loop_start >= 0 && v.loop_start <= v.loop_end && v.loop_end < L,
             "LOOP_START={} / LOOP_END={} must give a layer range inside the model's NUM_LAYERS={} layers "
             "(0 <= LOOP_START <= LOOP_END < NUM_LAYERS) when NUM_LOOPS={} > 0",
             v.loop_start, v.loop_end, L, v.num_loops);
    for (int64_t i = 0; i < v.loop_start; ++i) plan.order.push_back(i);
    for (int64_t r = 0; r <= v.num_loops; ++r)
        for (int64_t i = v.loop_start; i <= v.loop_end; ++i) plan.order.push_back(i);
    for (int64_t i = v.loop_end + 1; i < L; ++i) plan.order.push_back(i);
    return plan;
}

LayerPlan active_layers(const GptConfig& cfg) {
    LayerPlan plan = plan_layers(cfg);
    if (cfg.looping) return plan;
    plan.order.clear();
    for (int64_t i = 0; i < cfg.num_layers; ++i) plan.order.push_back(i);
    return plan;
}

}  // namespace pg
