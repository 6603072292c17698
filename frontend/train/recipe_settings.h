// The training-recipe settings of the record submissions beyond the baseline's (pgolf-spec §4.3,
// §4.5), under the records' train_gpt.py names: decoupled weight decay (MUON_WD, ADAM_WD,
// EMBED_WD), MuonEq-R and the Newton–Schulz coefficient set, the fraction-form warmdown with a
// floor and a linear or cosine shape, EMA and SWA of the weights, late STE QAT, and the onset of
// depth recurrence (ENABLE_LOOPING_AT).
#pragma once
#include <cstdint>
#include <string>

namespace pg {

struct RecipeSettings {
    double muon_wd = 0, adam_wd = 0, embed_wd = 0;  // decoupled: p <- p·(1 − lr·wd)
    bool muon_eq_r = false;                          // MUON_EQ_R: row-normalise before Newton–Schulz
    std::string ns_coefficients = "baseline";        // NS_COEFFICIENTS: baseline | polar_express
    double warmdown_frac = 0;   // WARMDOWN_FRAC > 0: warm down over this final fraction (else WARMDOWN_ITERS)
    double min_lr = 0;          // MIN_LR: floor of the LR multiplier during the warmdown
    bool cosine = false;        // WARMDOWN_SHAPE=cosine: half-cosine from 1 to MIN_LR instead of linear
    bool ema = false;           // EMA_ENABLED
    double ema_decay = 0.997;   // EMA_DECAY
    bool swa = false;           // SWA_ENABLED
    int64_t swa_every = 50;     // SWA_EVERY: take a snapshot every N steps ...
    double swa_threshold = 0.2; // SWA_THRESHOLD: ... while the LR multiplier is below this
    int64_t swa_max_snapshots = 0;  // SWA_MAX_SNAPSHOTS: ... until this many are summed (0 = no cap)
    double late_qat_threshold = 0;  // LATE_QAT_THRESHOLD: QAT on once the LR multiplier drops below (0 = off)
    double qat_start_frac = 0;      // QAT_START_FRAC: QAT on from this fraction of training (0 = off)
    int64_t qat_bits = 6;           // QAT_BITS
    double qat_lr_scale = 1;        // QAT_LR_SCALE: LR multiplier applied from QAT onset on
    double enable_looping_at = 0;   // ENABLE_LOOPING_AT: depth recurrence (NUM_LOOPS) from this fraction of training on

    bool qat() const { return late_qat_threshold > 0 || qat_start_frac > 0; }
};

// Reads and validates the knobs above (pg::Error naming a bad one).
RecipeSettings read_recipe_settings();

}  // namespace pg
