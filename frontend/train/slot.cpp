// SLOT, the flagged illegal form of PR #1456 (see slot.h).
#include "frontend/train/slot.h"

#include <algorithm>
#include <limits>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/adapter_step.h"
#include "runtime/executable.h"

namespace pg {

PG_KNOB({.name = "SLOT_STEPS", .kind = env::KnobKind::Int, .default_value = "5",
         .doc = "slot (non-record): AdamW steps on the delta per batch of windows"});
PG_KNOB({.name = "SLOT_LR", .kind = env::KnobKind::Float, .default_value = "0.003",
         .doc = "slot (non-record): AdamW learning rate of the delta"});

SlotConfig slot_config_from_settings() {
    SlotConfig c{env::get_int("SLOT_STEPS"), env::get_float("SLOT_LR")};
    PG_CHECK(c.steps >= 1, "SLOT_STEPS={} must be at least 1", c.steps);
    PG_CHECK(c.lr > 0, "SLOT_LR={} must be positive", c.lr);
    return c;
}

namespace {

// d [1, d] on the head's input: adds d E^T to the logits of every position.
Tensor slot_delta(ParamSet& ps, const std::string& site, const Tensor& h, int64_t /*out*/) {
    if (site != "tok_emb.weight") return {};
    Tensor emb = ps.get(site);
    Tensor delta = ps.add("slot.delta", {1, h.dim(1)}, Init::zeros(), kAdapterGroup);
    return matmul(delta.cast(h.dtype()), emb.cast(h.dtype()).transpose(0, 1));
}


// The batch's windows as [rows, S] inputs and targets (zero-padded) and the loss weights: 1 / the
// batch's scored targets at every scored position (the mean over the batch).
void fill_slot_batch(std::span<const eval::EvalWindow> batch, std::span<const uint16_t> stream, int64_t S,
                     HostTensor& ids, HostTensor& targets, HostTensor& loss_weights) {
    auto* x = reinterpret_cast<int32_t*>(ids.data());
    auto* y = reinterpret_cast<int32_t*>(targets.data());
    auto* w = reinterpret_cast<float*>(loss_weights.data());
    std::fill_n(x, ids.numel(), 0);
    std::fill_n(y, targets.numel(), 0);
    std::fill_n(w, loss_weights.numel(), 0.0f);
    const size_t cells = batch.size() * static_cast<size_t>(S);
    eval::fill_window_batch(batch, stream, S, std::span<int32_t>(x, cells), std::span<int32_t>(y, cells));
    int64_t scored = 0;
    for (const eval::EvalWindow& win : batch) scored += win.scored();
    for (size_t r = 0; r < batch.size(); ++r)
        for (int64_t j = batch[r].score_begin; j < batch[r].score_end; ++j)
            w[static_cast<int64_t>(r) * S + j] = 1.0f / static_cast<float>(scored);
}

// Adds the batch's scored targets from the losses [rows * S] to acc (and target_losses).
void score_slot_batch(std::span<const eval::EvalWindow> batch, const HostTensor& losses, int64_t S,
                      std::span<const uint16_t> stream, const eval::ByteLuts& luts, eval::BpbAccumulator& acc,
                      std::vector<float>* target_losses) {
    const auto* l = reinterpret_cast<const float*>(losses.data());
    for (size_t r = 0; r < batch.size(); ++r) {
        const eval::EvalWindow& win = batch[r];
        const std::span<const float> part(l + static_cast<int64_t>(r) * S + win.score_begin,
                                          static_cast<size_t>(win.scored()));
        acc.add_targets(part, stream, win.first_target(), luts);
        if (target_losses) std::copy(part.begin(), part.end(), target_losses->begin() + win.first_target());
    }
}

}  // namespace

eval::BpbAccumulator evaluate_slot(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                   const eval::WindowPlan& plan, int64_t rows, std::span<const uint16_t> stream,
                                   const eval::ByteLuts& luts, const SlotConfig& cfg,
                                   std::vector<float>* target_losses,
                                   const std::function<void(int64_t, int64_t)>& on_batch) {
    const int64_t S = plan.seq_len;
    const AdamConfig adamw{.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
    ModelGraph step = build_adapter_step(model, rows, S, slot_delta, adamw);
    std::unique_ptr<Executable> exe = compile_executable(session, *step.graph);
    set_model_weights(*exe, *step.params, weights);
    exe->set_scalar("adapter_lr", cfg.lr);
    HostTensor ids(DType::i32, {rows, S}), targets(DType::i32, {rows, S}), lw(DType::f32, {rows * S});
    if (target_losses) target_losses->assign(stream.size(), std::numeric_limits<float>::quiet_NaN());
    eval::BpbAccumulator acc;
    const auto n = static_cast<int64_t>(plan.windows.size());
    for (int64_t first = 0; first < n; first += rows) {
        const std::span<const eval::EvalWindow> batch(plan.windows.data() + first,
                                                      static_cast<size_t>(std::min(rows, n - first)));
        fill_slot_batch(batch, stream, S, ids, targets, lw);
        exe->set("ids", ids);
        exe->set("targets", targets);
        exe->set("loss_weights", lw);
        for (const ParamSpec& p : step.params->specs())  // the delta and its moments from zero
            if (p.group == kAdapterGroup || p.group == "state") exe->set(p.name, HostTensor(DType::f32, p.shape));
        for (int64_t s = 1; s <= cfg.steps + 1; ++s) {  // run steps + 1's forward pass scores
            exe->set_scalar("step", static_cast<double>(s));
            exe->run();
        }
        score_slot_batch(batch, exe->get("losses"), S, stream, luts, acc, target_losses);
        if (on_batch) on_batch(first / rows + 1, (n + rows - 1) / rows);
    }
    return acc;
}

}  // namespace pg
