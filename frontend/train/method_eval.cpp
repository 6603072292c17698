// Running one evaluation method (see method_eval.h).
#include "frontend/train/method_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "frontend/export/checkpoint.h"
#include "frontend/eval/ttt_chunks.h"
#include "frontend/train/data_parallel.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/slot.h"
#include "frontend/train/ttt_lora.h"
#include "frontend/train/ttt_phased.h"
#include "frontend/train/ttt_pre_eval.h"
#include "frontend/train/ttt_sgd.h"
#include "runtime/comm/communicator.h"

namespace pg {
namespace {

bool is_lora(const eval::EvalMethod& m) {
    return m.kind == eval::MethodKind::TttLoraDoc || m.kind == eval::MethodKind::TttLoraBatch;
}

bool is_ttt(const eval::EvalMethod& m) {
    return m.kind == eval::MethodKind::TttSgd || m.kind == eval::MethodKind::TttPhased;
}

// A scorer and a loss file need every window of the stream in order on one rank.
bool splits_across_ranks(const MethodEvalSetup& setup, bool has_scorer) {
    return setup.world != nullptr && setup.world->size() > 1 && !has_scorer && !setup.record_losses;
}

}  // namespace

void check_method_settings(const eval::EvalMethod& method, const MethodEvalSetup& setup, int64_t num_tokens) {
    eval::check_eval_method_allowed(method);
    const eval::WindowPlan plan = eval::plan_eval_windows(method, num_tokens, setup.seq_len, setup.stride);
    if (is_ttt(method)) eval::plan_ttt_chunks(plan, ttt_sgd_config_from_settings().chunk_tokens);
    if (method.kind == eval::MethodKind::TttPhased && ttt_phased_config_from_settings().scoring == PhaseScoring::Lora)
        lora_ttt_config_from_settings(true);
    if (is_lora(method)) lora_ttt_config_from_settings(method.kind == eval::MethodKind::TttLoraBatch);
    if (method.kind == eval::MethodKind::Slot) slot_config_from_settings();
    if (method.kind == eval::MethodKind::TttPreEval) pre_eval_ttt_config_from_settings();
}

namespace {

bool is_phased_lora(const eval::EvalMethod& m) {
    return m.kind == eval::MethodKind::TttPhased && ttt_phased_config_from_settings().scoring == PhaseScoring::Lora;
}

// The methods that train adapters over the model's weights compile their own step graph and need
// no Evaluator.
bool uses_adapters(const eval::EvalMethod& m) {
    return is_lora(m) || is_phased_lora(m) || m.kind == eval::MethodKind::Slot;
}

void evaluate_with_adapters(const eval::EvalMethod& method, const MethodEvalSetup& setup,
                            const io::TensorMap& weights, Session& session, std::span<const uint16_t> stream,
                            const eval::ByteLuts& luts, const eval::WindowPlan& plan,
                            const std::function<void(int64_t, int64_t)>& show, MethodResult& r) {
    std::vector<float>* losses = setup.record_losses ? &r.target_losses : nullptr;
    if (method.kind == eval::MethodKind::Slot) {
        r.acc = evaluate_slot(session, setup.model, weights, plan, std::min(setup.max_rows, r.windows), stream, luts,
                              slot_config_from_settings(), losses, show);
        return;
    }
    const LoraTttConfig cfg = lora_ttt_config_from_settings(method.kind != eval::MethodKind::TttLoraDoc);
    TttLoraResult lora =
        is_phased_lora(method)
            ? evaluate_ttt_phased_lora(session, setup.model, weights, setup.seq_len, stream, luts, setup.bos_id, cfg,
                                       ttt_phased_config_from_settings(), losses, show)
            : evaluate_ttt_lora(session, setup.model, weights, stream, luts, setup.bos_id, cfg, losses, show);
    r.acc = lora.acc;
    r.windows = lora.windows;
    r.target_order = std::move(lora.target_step);
}

// The methods scored by an Evaluator over the window plan.
void evaluate_with_evaluator(const eval::EvalMethod& method, const MethodEvalSetup& setup,
                             const io::TensorMap& weights, Session& session, std::span<const uint16_t> stream,
                             const eval::ByteLuts& luts, const eval::WindowPlan& plan,
                             const std::function<void(int64_t, int64_t)>& show, MethodResult& r) {
    std::unique_ptr<eval::TargetScorer> scorer = eval::make_target_scorer(method);
    Evaluator ev(setup.model, std::min(setup.max_rows, r.windows), setup.seq_len, session, scorer != nullptr);
    io::check_tensors_match(io::model_params(weights), ev.params().specs(), "the evaluated weights", false);
    ev.set_weights(weights);
    ev.set_scorer(scorer.get());
    if (setup.record_losses) ev.record_target_losses(&r.target_losses);
    if (method.kind == eval::MethodKind::TttPhased) {
        r.acc = evaluate_ttt_phased(ev, session, setup.model, plan, stream, luts, setup.bos_id,
                                    ttt_phased_config_from_settings(), show);
    } else if (is_ttt(method)) {
        r.acc = evaluate_ttt_sgd(ev, session, setup.model, plan, stream, luts, ttt_sgd_config_from_settings(), show);
    } else if (method.kind == eval::MethodKind::TttPreEval) {
        train_pre_eval_ttt(session, setup.model, setup.seq_len, stream, pre_eval_ttt_config_from_settings());
        r.acc = ev.evaluate(plan, stream, luts, 0, 1, show);
    } else if (splits_across_ranks(setup, scorer != nullptr)) {
        r.acc = all_reduce_sums(*setup.world,
                                ev.evaluate(plan, stream, luts, setup.world->rank(), setup.world->size(), show));
    } else {
        r.acc = ev.evaluate(plan, stream, luts, 0, 1, show);
    }
}

}  // namespace

MethodResult evaluate_method(const eval::EvalMethod& method, const MethodEvalSetup& setup, const io::TensorMap& weights,
                             Session& session, std::span<const uint16_t> stream, const eval::ByteLuts& luts,
                             ProgressLine& progress, const std::function<void(const std::string&)>& log) {
    MethodResult r;
    check_method_settings(method, setup, static_cast<int64_t>(stream.size()));
    if (!method.legal()) log(eval::check_eval_method_allowed(method));
    r.non_record = !method.legal();
    const eval::WindowPlan plan =
        eval::plan_eval_windows(method, static_cast<int64_t>(stream.size()), setup.seq_len, setup.stride);
    r.windows = static_cast<int64_t>(plan.windows.size());
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    const std::string label(method.name);
    auto show = [&](int64_t done, int64_t total) {
        progress.show(format_eval_progress(label, done, total, elapsed_ms()));
    };
    if (uses_adapters(method))
        evaluate_with_adapters(method, setup, weights, session, stream, luts, plan, show, r);
    else
        evaluate_with_evaluator(method, setup, weights, session, stream, luts, plan, show, r);
    progress.clear();
    r.eval_ms = elapsed_ms();
    return r;
}

std::string format_method_result(const eval::EvalMethod& method, const MethodResult& r) {
    return fmt::format("{} val_loss:{:.8f} val_bpb:{:.8f} windows:{} scored:{} eval_time:{:.0f}ms{}", method.name,
                       r.acc.val_loss(), r.acc.val_bpb(), r.windows, static_cast<int64_t>(r.acc.tokens()), r.eval_ms,
                       r.non_record ? " NON-RECORD" : "");
}

}  // namespace pg
