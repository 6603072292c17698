// Recipe settings (see recipe_settings.h).
#include "frontend/train/recipe_settings.h"

#include "base/env.h"
#include "base/error.h"
#include "frontend/optim/ns_coefficients.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "MUON_WD", .kind = KnobKind::Float, .default_value = "0", .doc = "Muon decoupled weight decay"});
PG_KNOB({.name = "ADAM_WD", .kind = KnobKind::Float, .default_value = "0",
         .doc = "AdamW decoupled weight decay of the scalar group (and of embeddings unless EMBED_WD is set)"});
PG_KNOB({.name = "EMBED_WD", .kind = KnobKind::Float, .default_value = "-1",
         .doc = "AdamW weight decay of the embedding group (-1 = ADAM_WD)"});
PG_KNOB({.name = "MUON_EQ_R", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "MuonEq-R: normalise each row of Muon's update before Newton-Schulz"});
PG_KNOB({.name = "NS_COEFFICIENTS", .kind = KnobKind::String, .default_value = "baseline",
         .doc = "Newton-Schulz coefficients: baseline (3.4445, -4.7750, 2.0315) or polar_express",
         .choices = {"baseline", "polar_express"}});
PG_KNOB({.name = "WARMDOWN_FRAC", .kind = KnobKind::Float, .default_value = "0",
         .doc = "warm the LR down over this final fraction of training (wallclock or ITERATIONS); 0 = WARMDOWN_ITERS"});
PG_KNOB({.name = "MIN_LR", .kind = KnobKind::Float, .default_value = "0", .doc = "floor of the LR multiplier"});
PG_KNOB({.name = "WARMDOWN_SHAPE", .kind = KnobKind::String, .default_value = "linear",
         .doc = "warmdown from 1 to MIN_LR: linear or cosine", .choices = {"linear", "cosine"}});
PG_KNOB({.name = "EMA_ENABLED", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "fp32 exponential moving average of the weights, updated on the device, exported instead of them"});
PG_KNOB({.name = "EMA_DECAY", .kind = KnobKind::Float, .default_value = "0.997", .doc = "EMA decay per step"});
PG_KNOB({.name = "SWA_ENABLED", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "stochastic weight averaging: the mean of snapshots is exported (EMA wins when both are on)"});
PG_KNOB({.name = "SWA_EVERY", .kind = KnobKind::Int, .default_value = "50", .doc = "steps between SWA snapshots"});
PG_KNOB({.name = "SWA_THRESHOLD", .kind = KnobKind::Float, .default_value = "0.2",
         .doc = "SWA snapshots are taken while the LR multiplier is below this"});
PG_KNOB({.name = "SWA_MAX_SNAPSHOTS", .kind = KnobKind::Int, .default_value = "0",
         .doc = "SWA stops adding snapshots once this many are summed (0 = no cap)"});
PG_KNOB({.name = "LATE_QAT_THRESHOLD", .kind = KnobKind::Float, .default_value = "0",
         .doc = "late STE QAT from when the LR multiplier first drops below this (0 = off)"});
PG_KNOB({.name = "QAT_START_FRAC", .kind = KnobKind::Float, .default_value = "0",
         .doc = "late STE QAT from this fraction of the wallclock cap (or of ITERATIONS) on (0 = off)"});
PG_KNOB({.name = "QAT_BITS", .kind = KnobKind::Int, .default_value = "6", .doc = "bits of the per-row fake quantisation"});
PG_KNOB({.name = "QAT_LR_SCALE", .kind = KnobKind::Float, .default_value = "1",
         .doc = "LR multiplier applied from the QAT onset on (0.5 = halve the LR)"});
PG_KNOB({.name = "ENABLE_LOOPING_AT", .kind = KnobKind::Float, .default_value = "0",
         .doc = "depth recurrence (NUM_LOOPS) switches on at this fraction of the wallclock cap (or of ITERATIONS); "
                "before it the layers run once each (0 = looped from the first step)"});

RecipeSettings read_recipe_settings() {
    RecipeSettings r;
    r.muon_wd = env::get_float("MUON_WD");
    r.adam_wd = env::get_float("ADAM_WD");
    double embed = env::get_float("EMBED_WD");
    r.embed_wd = embed < 0 ? r.adam_wd : embed;
    r.muon_eq_r = env::get_bool("MUON_EQ_R");
    r.ns_coefficients = env::get("NS_COEFFICIENTS");
    r.warmdown_frac = env::get_float("WARMDOWN_FRAC");
    r.min_lr = env::get_float("MIN_LR");
    r.cosine = env::get("WARMDOWN_SHAPE") == "cosine";
    r.ema = env::get_bool("EMA_ENABLED");
    r.ema_decay = env::get_float("EMA_DECAY");
    r.swa = env::get_bool("SWA_ENABLED");
    r.swa_every = env::get_int("SWA_EVERY");
    r.swa_threshold = env::get_float("SWA_THRESHOLD");
    r.swa_max_snapshots = env::get_int("SWA_MAX_SNAPSHOTS");
    r.late_qat_threshold = env::get_float("LATE_QAT_THRESHOLD");
    r.qat_start_frac = env::get_float("QAT_START_FRAC");
    r.qat_bits = env::get_int("QAT_BITS");
    r.qat_lr_scale = env::get_float("QAT_LR_SCALE");
    r.enable_looping_at = env::get_float("ENABLE_LOOPING_AT");
    PG_CHECK(r.muon_wd >= 0 && r.adam_wd >= 0 && r.embed_wd >= 0, "MUON_WD, ADAM_WD and EMBED_WD must be >= 0");
    PG_CHECK(r.warmdown_frac >= 0 && r.warmdown_frac <= 1, "WARMDOWN_FRAC={} must be in [0, 1]", r.warmdown_frac);
    PG_CHECK(r.min_lr >= 0 && r.min_lr < 1, "MIN_LR={} must be in [0, 1)", r.min_lr);
    PG_CHECK(r.ema_decay > 0 && r.ema_decay < 1, "EMA_DECAY={} must be in (0, 1)", r.ema_decay);
    PG_CHECK(r.swa_every > 0, "SWA_EVERY={} must be positive", r.swa_every);
    PG_CHECK(r.swa_max_snapshots >= 0, "SWA_MAX_SNAPSHOTS={} must be >= 0 (0 = no cap)", r.swa_max_snapshots);
    PG_CHECK(r.qat_bits >= 2 && r.qat_bits <= 8, "QAT_BITS={} must be in [2, 8]", r.qat_bits);
    PG_CHECK(r.qat_start_frac >= 0 && r.qat_start_frac <= 1, "QAT_START_FRAC={} must be in [0, 1]", r.qat_start_frac);
    PG_CHECK(r.enable_looping_at >= 0 && r.enable_looping_at <= 1,
             "ENABLE_LOOPING_AT={} must be a fraction of training in [0, 1] (0 = looped from the first step)",
             r.enable_looping_at);
    PG_CHECK(r.qat_lr_scale > 0, "QAT_LR_SCALE={} must be positive", r.qat_lr_scale);
    return r;
}

}  // namespace pg
