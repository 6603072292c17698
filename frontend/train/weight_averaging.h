// Weight averaging as session state updated on the device (pgolf-spec §4.3): the EMA, an fp32
// shadow "<param>.ema" of every weight, ema <- δ·ema + (1−δ)·p after each optimizer step (started
// from the initial weights); and SWA, "<param>.swa_sum" plus the count "swa_count", adding the
// weights after the steps where the runtime scalar "swa_take" is 1 and, with SWA_MAX_SNAPSHOTS,
// fewer than that many were summed (decided on the device from swa_count, so a resumed run keeps
// the cap without the host tracking it). Both are optimizer-state
// params (group "state"), so checkpoints carry them; the export takes the EMA when on, else the
// SWA mean once a snapshot was taken, else the weights.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "frontend/module.h"
#include "frontend/train/recipe_settings.h"

namespace pg {

// Adds the EMA / SWA updates to the optimizer graph of `ps`, reading each of `model_params`' new
// value from the graph's state updates (so after the optimizer's updates were added).
void add_weight_averaging(ParamSet& ps, const RecipeSettings& r, const std::vector<ParamSpec>& model_params);

// The weights to export, from the full training state (weights and optimizer state by name):
// the EMA or the SWA mean replaces each weight, as described above; other entries are kept.
std::map<std::string, HostTensor> averaged_weights(const RecipeSettings& r, const std::vector<ParamSpec>& model_params,
                                                   std::map<std::string, HostTensor> state);

}  // namespace pg
