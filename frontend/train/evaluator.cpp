// Window-plan evaluation (see evaluator.h).
#include "frontend/train/evaluator.h"

#include <cstring>

#include "base/error.h"

namespace pg {

Evaluator::Evaluator(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session)
    : model_(build_eval_graph(cfg, rows, seq_len)), rows_(rows), seq_len_(seq_len) {
    exe_ = compile_executable(session, *model_.graph);
    ids_ = HostTensor(DType::i32, {rows, seq_len});
    targets_ = HostTensor(DType::i32, {rows, seq_len});
}

void Evaluator::set_weights(const std::map<std::string, HostTensor>& weights) {
    for (const ParamSpec& p : model_.params->specs()) {
        auto it = weights.find(p.name);
        PG_CHECK(it != weights.end(), "the weights lack '{}' ({} {})", p.name, dtype_name(p.dtype), shape_str(p.shape));
        if (exe_->has_leaf(p.name)) exe_->set(p.name, it->second.to(p.dtype));
    }
}

eval::BpbAccumulator Evaluator::evaluate(const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                         const eval::ByteLuts& luts, int rank, int world_size,
                                         const OnBatch& on_batch) {
    PG_CHECK(plan.seq_len == seq_len_, "window plan of length {} for an evaluator compiled for {}", plan.seq_len,
             seq_len_);
    std::span<const eval::EvalWindow> mine = plan.rank_slice(rank, world_size);
    eval::BpbAccumulator acc;
    auto* ids = reinterpret_cast<int32_t*>(ids_.data());
    auto* targets = reinterpret_cast<int32_t*>(targets_.data());
    const size_t cells = static_cast<size_t>(rows_ * seq_len_);
    const auto batches = static_cast<int64_t>((mine.size() + static_cast<size_t>(rows_) - 1) / static_cast<size_t>(rows_));
    for (size_t first = 0; first < mine.size(); first += static_cast<size_t>(rows_)) {
        size_t count = std::min<size_t>(static_cast<size_t>(rows_), mine.size() - first);
        std::span<const eval::EvalWindow> batch = mine.subspan(first, count);
        // A short last batch leaves its unused rows zero: they run but are never scored.
        std::memset(ids, 0, cells * sizeof(int32_t));
        std::memset(targets, 0, cells * sizeof(int32_t));
        eval::fill_window_batch(batch, stream, seq_len_, std::span<int32_t>(ids, count * seq_len_),
                                std::span<int32_t>(targets, count * seq_len_));
        exe_->set("ids", ids_);
        exe_->set("targets", targets_);
        exe_->run();
        HostTensor losses = exe_->get("losses");
        const auto* l = reinterpret_cast<const float*>(losses.data());
        for (size_t w = 0; w < count; ++w)
            eval::score_window(acc, batch[w], std::span<const float>(l + w * seq_len_, seq_len_), stream, luts);
        if (on_batch) on_batch(static_cast<int64_t>(first) / rows_ + 1, batches);
    }
    return acc;
}

}  // namespace pg
