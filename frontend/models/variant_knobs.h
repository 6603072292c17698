// The settings of the record architecture pieces (VariantConfig) under the records' train_gpt.py
// names: declared in the knob registry, read and validated against the rest of the model.
#pragma once
#include <string>
#include <vector>

#include "frontend/models/gpt.h"

namespace pg {

// Reads MODEL (or MODEL_FAMILY) and every variant knob into cfg (whose width, depth and heads are already set);
// a setting that does not fit the model (XSA_LAST_N above NUM_LAYERS, ROPE_DIMS odd or above the
// head dim, a loop or VE layer outside the model, ...) throws pg::Error naming it.
void read_variant_settings(GptConfig& cfg);

// The knobs read_variant_settings reads: model-defining, stored in checkpoints.
const std::vector<std::string>& variant_knob_names();

}  // namespace pg
