// Training knobs (see hyperparams.h).
#include "frontend/train/hyperparams.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/data_parallel.h"
#include "frontend/models/variant_knobs.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "VOCAB_SIZE", .kind = KnobKind::Int, .default_value = "1024", .doc = "vocabulary size"});
PG_KNOB({.name = "NUM_LAYERS", .kind = KnobKind::Int, .default_value = "9", .doc = "transformer blocks"});
PG_KNOB({.name = "MODEL_DIM", .kind = KnobKind::Int, .default_value = "512", .doc = "model width d"});
PG_KNOB({.name = "NUM_HEADS", .kind = KnobKind::Int, .default_value = "8", .doc = "query heads"});
PG_KNOB({.name = "NUM_KV_HEADS", .kind = KnobKind::Int, .default_value = "4", .doc = "key/value heads (GQA)"});
PG_KNOB({.name = "MLP_MULT", .kind = KnobKind::Float, .default_value = "2", .doc = "MLP hidden = int(MLP_MULT * d)"});
PG_KNOB({.name = "TIE_EMBEDDINGS", .kind = KnobKind::Bool, .default_value = "1",
         .doc = "tied input/output embeddings (only 1 is supported)"});
PG_KNOB({.name = "ROPE_BASE", .kind = KnobKind::Float, .default_value = "10000", .doc = "rotary base"});
PG_KNOB({.name = "LOGIT_SOFTCAP", .kind = KnobKind::Float, .default_value = "30", .doc = "c in c*tanh(logits/c)"});
PG_KNOB({.name = "QK_GAIN_INIT", .kind = KnobKind::Float, .default_value = "1.5", .doc = "initial per-head q gain"});
PG_KNOB({.name = "TIED_EMBED_INIT_STD", .kind = KnobKind::Float, .default_value = "0.005",
         .doc = "std of the tied embedding init"});
PG_KNOB({.name = "TRAIN_BATCH_TOKENS", .kind = KnobKind::Int, .default_value = "524288",
         .doc = "global tokens per step"});
PG_KNOB({.name = "TRAIN_SEQ_LEN", .kind = KnobKind::Int, .default_value = "1024", .doc = "training sequence length"});
PG_KNOB({.name = "ITERATIONS", .kind = KnobKind::Int, .default_value = "20000", .doc = "training steps"});
PG_KNOB({.name = "WARMUP_STEPS", .kind = KnobKind::Int, .default_value = "20",
         .doc = "steps run and then discarded (weights and optimizer restored) before the timer starts"});
PG_KNOB({.name = "WARMDOWN_ITERS", .kind = KnobKind::Int, .default_value = "1200", .doc = "linear LR decay length"});
PG_KNOB({.name = "MAX_WALLCLOCK_SECONDS", .kind = KnobKind::Float, .default_value = "600",
         .doc = "training time cap (0 = none); the warmdown follows the estimated end"});
PG_KNOB({.name = "VAL_LOSS_EVERY", .kind = KnobKind::Int, .default_value = "1000",
         .doc = "validate every N steps (0 = only at the end)"});
PG_KNOB({.name = "VAL_BATCH_SIZE", .kind = KnobKind::Int, .default_value = "524288", .doc = "validation tokens per batch"});
PG_KNOB({.name = "TRAIN_LOG_EVERY", .kind = KnobKind::Int, .default_value = "200", .doc = "log train loss every N steps"});
PG_KNOB({.name = "TIED_EMBED_LR", .kind = KnobKind::Float, .default_value = "0.05", .doc = "Adam lr of tok_emb"});
PG_KNOB({.name = "MATRIX_LR", .kind = KnobKind::Float, .default_value = "0.04", .doc = "Muon lr of block matrices"});
PG_KNOB({.name = "SCALAR_LR", .kind = KnobKind::Float, .default_value = "0.04",
         .doc = "Adam lr of vectors and control tensors"});
PG_KNOB({.name = "MUON_MOMENTUM", .kind = KnobKind::Float, .default_value = "0.95", .doc = "Muon momentum"});
PG_KNOB({.name = "MUON_MOMENTUM_WARMUP_START", .kind = KnobKind::Float, .default_value = "0.85",
         .doc = "Muon momentum at step 0"});
PG_KNOB({.name = "MUON_MOMENTUM_WARMUP_STEPS", .kind = KnobKind::Int, .default_value = "500",
         .doc = "steps to warm the Muon momentum up"});
PG_KNOB({.name = "MUON_BACKEND_STEPS", .kind = KnobKind::Int, .default_value = "5", .doc = "Newton-Schulz iterations"});
PG_KNOB({.name = "BETA1", .kind = KnobKind::Float, .default_value = "0.9", .doc = "Adam beta1"});
PG_KNOB({.name = "BETA2", .kind = KnobKind::Float, .default_value = "0.95", .doc = "Adam beta2"});
PG_KNOB({.name = "ADAM_EPS", .kind = KnobKind::Float, .default_value = "1e-8", .doc = "Adam epsilon"});
PG_KNOB({.name = "GRAD_CLIP_NORM", .kind = KnobKind::Float, .default_value = "0", .doc = "global grad-norm clip (0 = off)"});
PG_KNOB({.name = "SEED", .kind = KnobKind::Int, .default_value = "1337", .doc = "init and data seed"});
PG_KNOB({.name = "SEEDS", .kind = KnobKind::String, .default_value = "",
         .doc = "comma-separated seeds (e.g. 1337,42,2025): pgolf train runs once per seed into RUN_DIR/seed<N>"});
PG_KNOB({.name = "RUN_ID", .kind = KnobKind::String, .default_value = "", .doc = "run name (default: a timestamp)"});
PG_KNOB({.name = "RUN_DIR", .kind = KnobKind::String, .default_value = "",
         .doc = "directory for the log, checkpoint and artifact (default: runs/<RUN_ID>)"});
PG_KNOB({.name = "PG_COMPUTE_DTYPE", .kind = KnobKind::String, .default_value = "f32",
         .doc = "activation dtype of the model: f32, or bf16 as the baseline's autocast (fp32 master weights)",
         .choices = {"f32", "bf16"}});
PG_KNOB({.name = "RESUME_FROM", .kind = KnobKind::String, .default_value = "",
         .doc = "checkpoint (.ckpt) to resume training from (weights, optimizer state, step, data position), or "
                "auto: the newest valid checkpoint in RUN_DIR, if any"});
PG_KNOB({.name = "CHECKPOINT_EVERY", .kind = KnobKind::Int, .default_value = "0",
         .doc = "also write RUN_DIR/checkpoint_step<N>.ckpt every N steps (0 = only the final one)"});
PG_KNOB({.name = "WORLD_SIZE", .kind = KnobKind::Int, .default_value = "1", .doc = "number of ranks (torchrun style)"});

int64_t Hyperparams::rows_per_step() const {
    return train_batch_tokens / world_size / train_seq_len;
}

int64_t Hyperparams::val_rows() const {
    return std::max<int64_t>(1, val_batch_size / (world_size * grad_accum_steps()) / train_seq_len);
}

const std::vector<std::string>& model_knob_names() {
    static const std::vector<std::string> names = {"VOCAB_SIZE", "NUM_LAYERS",   "MODEL_DIM",     "NUM_HEADS",
                                                   "NUM_KV_HEADS", "MLP_MULT",   "ROPE_BASE",     "LOGIT_SOFTCAP",
                                                   "QK_GAIN_INIT", "TRAIN_SEQ_LEN", "TIE_EMBEDDINGS",
                                                   "PG_COMPUTE_DTYPE"};
    static const std::vector<std::string> all = [] {
        std::vector<std::string> v = names;
        v.insert(v.end(), variant_knob_names().begin(), variant_knob_names().end());
        return v;
    }();
    return all;
}

Hyperparams read_hyperparams() {
    Hyperparams h;
    GptConfig& m = h.model;
    m.vocab_size = env::get_int("VOCAB_SIZE");
    m.num_layers = env::get_int("NUM_LAYERS");
    m.model_dim = env::get_int("MODEL_DIM");
    m.num_heads = env::get_int("NUM_HEADS");
    m.num_kv_heads = env::get_int("NUM_KV_HEADS");
    m.mlp_mult = env::get_float("MLP_MULT");
    m.rope_base = env::get_float("ROPE_BASE");
    m.logit_softcap = env::get_float("LOGIT_SOFTCAP");
    m.qk_gain_init = env::get_float("QK_GAIN_INIT");
    m.tied_embed_init_std = env::get_float("TIED_EMBED_INIT_STD");
    m.compute_dtype = parse_dtype(env::get("PG_COMPUTE_DTYPE"));
    PG_CHECK(env::get_bool("TIE_EMBEDDINGS"), "TIE_EMBEDDINGS=0 (an untied head) is not supported; use 1");
    h.train_batch_tokens = env::get_int("TRAIN_BATCH_TOKENS");
    h.train_seq_len = env::get_int("TRAIN_SEQ_LEN");
    h.iterations = env::get_int("ITERATIONS");
    h.warmup_steps = env::get_int("WARMUP_STEPS");
    h.warmdown_iters = env::get_int("WARMDOWN_ITERS");
    h.max_wallclock_seconds = env::get_float("MAX_WALLCLOCK_SECONDS");
    h.val_loss_every = env::get_int("VAL_LOSS_EVERY");
    h.val_batch_size = env::get_int("VAL_BATCH_SIZE");
    h.train_log_every = env::get_int("TRAIN_LOG_EVERY");
    h.tied_embed_lr = env::get_float("TIED_EMBED_LR");
    h.matrix_lr = env::get_float("MATRIX_LR");
    h.scalar_lr = env::get_float("SCALAR_LR");
    h.muon_momentum = env::get_float("MUON_MOMENTUM");
    h.muon_momentum_warmup_start = env::get_float("MUON_MOMENTUM_WARMUP_START");
    h.muon_momentum_warmup_steps = env::get_int("MUON_MOMENTUM_WARMUP_STEPS");
    h.muon_backend_steps = env::get_int("MUON_BACKEND_STEPS");
    h.beta1 = env::get_float("BETA1");
    h.beta2 = env::get_float("BETA2");
    h.adam_eps = env::get_float("ADAM_EPS");
    h.grad_clip_norm = env::get_float("GRAD_CLIP_NORM");
    h.seed = env::get_int("SEED");
    h.world_size = launch_world_size();  // the launcher's world when distributed
    h.rank = launch_rank();
    h.muon_sharding = muon_sharding_mode();

    PG_CHECK(m.vocab_size > 0 && m.vocab_size <= 65536, "VOCAB_SIZE={} must be in [1, 65536] (uint16 shards)",
             m.vocab_size);
    PG_CHECK(m.num_layers > 0 && m.model_dim > 0 && m.mlp_mult > 0,
             "NUM_LAYERS, MODEL_DIM and MLP_MULT must be positive");
    PG_CHECK(m.num_heads > 0 && m.model_dim % m.num_heads == 0, "MODEL_DIM={} is not divisible by NUM_HEADS={}",
             m.model_dim, m.num_heads);
    PG_CHECK(m.num_kv_heads > 0 && m.num_heads % m.num_kv_heads == 0,
             "NUM_HEADS={} is not a multiple of NUM_KV_HEADS={}", m.num_heads, m.num_kv_heads);
    PG_CHECK((m.model_dim / m.num_heads) % 2 == 0, "head dim MODEL_DIM/NUM_HEADS={} must be even (rotary)",
             m.model_dim / m.num_heads);
    read_variant_settings(m);
    PG_CHECK(h.world_size >= 1 && 8 % h.world_size == 0, "WORLD_SIZE={} must divide 8 (grad_accum = 8 / WORLD_SIZE)",
             h.world_size);
    PG_CHECK(h.train_seq_len > 0, "TRAIN_SEQ_LEN must be positive");
    int64_t per_micro = h.train_batch_tokens / (h.world_size * h.grad_accum_steps());
    PG_CHECK(per_micro > 0 && per_micro % h.train_seq_len == 0 &&
                 h.train_batch_tokens % (h.world_size * h.grad_accum_steps()) == 0,
             "TRAIN_BATCH_TOKENS={} must split into WORLD_SIZE={} x grad_accum={} micro-batches of whole "
             "TRAIN_SEQ_LEN={} sequences",
             h.train_batch_tokens, h.world_size, h.grad_accum_steps(), h.train_seq_len);
    PG_CHECK(h.iterations >= 0 && h.warmup_steps >= 0 && h.warmdown_iters >= 0, "step counts must be >= 0");
    PG_CHECK(h.muon_backend_steps >= 0, "MUON_BACKEND_STEPS must be >= 0");

    h.recipe = read_recipe_settings();
    h.model.qat_bits = h.recipe.qat() ? h.recipe.qat_bits : 0;
    h.resume_from = env::get("RESUME_FROM");
    h.checkpoint_every = env::get_int("CHECKPOINT_EVERY");
    PG_CHECK(h.checkpoint_every >= 0, "CHECKPOINT_EVERY must be >= 0");
    h.run_id = env::get("RUN_ID");
    if (h.run_id.empty()) {
        auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        std::tm tm{};
        gmtime_r(&now, &tm);
        h.run_id = fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                               tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    h.run_dir = env::get("RUN_DIR");
    if (h.run_dir.empty()) h.run_dir = "runs/" + h.run_id;
    return h;
}

std::map<std::string, std::string> run_settings() {
    std::map<std::string, std::string> settings;
    const auto& model = model_knob_names();
    for (const env::Knob* k : env::all())
        if (k->name.rfind("PG_", 0) != 0 || std::find(model.begin(), model.end(), k->name) != model.end())
            settings[k->name] = env::get(k->name);
    return settings;
}

const std::vector<std::string>& run_identity_knob_names() {
    static const std::vector<std::string> names = {"SEED", "SEEDS", "RUN_ID", "RUN_DIR", "RESUME_FROM",
                                                   "CHECKPOINT_EVERY", "TRAIN_LOG_EVERY", "VAL_LOSS_EVERY"};
    return names;
}

std::string describe(const Hyperparams& h) {
    const GptConfig& m = h.model;
    return fmt::format(
        "model: vocab_size:{} num_layers:{} model_dim:{} num_heads:{} num_kv_heads:{} mlp_mult:{} rope_base:{} "
        "logit_softcap:{} qk_gain_init:{} tied_embed_init_std:{}\n"
        "train: train_batch_tokens:{} train_seq_len:{} iterations:{} warmup_steps:{} warmdown_iters:{} "
        "max_wallclock_seconds:{} val_loss_every:{} val_batch_size:{} world_size:{} grad_accum_steps:{}\n"
        "optim: tied_embed_lr:{} matrix_lr:{} scalar_lr:{} muon_momentum:{} (warmup from {} over {} steps) "
        "muon_backend_steps:{} beta1:{} beta2:{} adam_eps:{} grad_clip_norm:{} seed:{}",
        m.vocab_size, m.num_layers, m.model_dim, m.num_heads, m.num_kv_heads, m.mlp_mult, m.rope_base,
        m.logit_softcap, m.qk_gain_init, m.tied_embed_init_std, h.train_batch_tokens, h.train_seq_len, h.iterations,
        h.warmup_steps, h.warmdown_iters, h.max_wallclock_seconds, h.val_loss_every, h.val_batch_size, h.world_size,
        h.grad_accum_steps(), h.tied_embed_lr, h.matrix_lr, h.scalar_lr, h.muon_momentum,
        h.muon_momentum_warmup_start, h.muon_momentum_warmup_steps, h.muon_backend_steps, h.beta1, h.beta2,
        h.adam_eps, h.grad_clip_norm, h.seed);
}

}  // namespace pg
