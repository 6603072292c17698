// One training step, whole or in micro-steps (see step_runner.h).
#include "frontend/train/step_runner.h"

#include <fmt/format.h>

#include <cstring>

#include "frontend/train/trainer.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace pg {

PG_KNOB({.name = "PG_MICRO_STEPS", .kind = env::KnobKind::Bool, .default_value = "1",
         .doc = "1 runs each step as grad_accum micro-step graphs plus an optimizer graph (memory of one "
                "micro-batch); 0 as one graph over all of the step's sequences"});

StepRunner::StepRunner(const Hyperparams& h)
    : h_(h), micro_(env::get_bool("PG_MICRO_STEPS") && h.grad_accum_steps() > 1),
      micro_rows_(h.rows_per_step() / h.grad_accum_steps()) {
    if (!micro_) {
        single_ = build_train_step(h, h.rows_per_step());
        single_exe_ = make_executable(*single_.graph);
        for (const ParamSpec& p : single_.params->specs()) state_specs_.push_back(p);
    } else {
        micro_graph_ = build_micro_step(h, micro_rows_, h.grad_accum_steps());
        apply_graph_ = build_apply_step(h);
        micro_exe_ = make_executable(*micro_graph_.graph);
        apply_exe_ = make_executable(*apply_graph_.graph);
        for (const ParamSpec& p : apply_graph_.params->specs())
            if (p.group != "gradacc") state_specs_.push_back(p);
    }
    for (const ParamSpec& p : state_specs_)
        if (p.group != "state") model_specs_.push_back(p);
}

std::map<std::string, HostTensor> StepRunner::initial_state(uint64_t seed) const {
    std::map<std::string, HostTensor> all = (micro_ ? apply_graph_ : single_).params->initialize(seed);
    std::map<std::string, HostTensor> out;
    for (const ParamSpec& p : state_specs_) out.emplace(p.name, std::move(all.at(p.name)));
    return out;
}

void StepRunner::set_state(const std::string& name, const HostTensor& value) {
    if (!micro_) {
        single_exe_->set(name, value);
        return;
    }
    apply_exe_->set(name, value);
    if (micro_exe_->has_leaf(name)) micro_exe_->set(name, value);
}

HostTensor StepRunner::get_state(const std::string& name) const {
    return micro_ ? apply_exe_->get(name) : single_exe_->get(name);
}

void StepRunner::set_scalars(int64_t step, double lr_mul) {
    Executable& e = micro_ ? *apply_exe_ : *single_exe_;
    e.set_scalar("step", static_cast<double>(step + 1));
    e.set_scalar("lr.embed", h_.tied_embed_lr * lr_mul);
    e.set_scalar("lr.scalar", h_.scalar_lr * lr_mul);
    e.set_scalar("lr.matrix", h_.matrix_lr * lr_mul);
    e.set_scalar("muon_momentum", muon_momentum(h_, step));
}

void StepRunner::run(data::DistributedTokenLoader& loader) {
    const int64_t accum = h_.grad_accum_steps(), rows = micro_ ? micro_rows_ : h_.rows_per_step();
    HostTensor ids(DType::i32, {rows, h_.train_seq_len}), targets(DType::i32, {rows, h_.train_seq_len});
    size_t offset = 0;
    double loss_sum = 0;
    for (int64_t micro = 0; micro < accum; ++micro) {
        data::TokenBatch b = loader.next_batch(h_.train_batch_tokens, h_.train_seq_len, accum);
        std::memcpy(reinterpret_cast<int32_t*>(ids.data()) + offset, b.inputs.data(), b.inputs.size() * 4);
        std::memcpy(reinterpret_cast<int32_t*>(targets.data()) + offset, b.targets.data(), b.targets.size() * 4);
        offset += b.inputs.size();
        if (!micro_) continue;
        micro_exe_->set("ids", ids);
        micro_exe_->set("targets", targets);
        micro_exe_->run();
        loss_sum += micro_exe_->get("loss").get(0);
        offset = 0;
    }
    if (!micro_) {
        single_exe_->set("ids", ids);
        single_exe_->set("targets", targets);
        single_exe_->run();
        loss_ = single_exe_->get("loss").get(0);
        return;
    }
    loss_ = loss_sum / static_cast<double>(accum);
    // Hand the accumulated gradients to the optimizer graph, zero the accumulators, and bring the
    // updated weights back to the micro-step graph.
    for (const ParamSpec& p : model_specs_) {
        std::string acc = grad_acc_name(p.name);
        HostTensor g = micro_exe_->get(acc);
        apply_exe_->set(acc, g);
        std::memset(g.data(), 0, g.bytes.size());
        micro_exe_->set(acc, g);
    }
    apply_exe_->run();
    for (const ParamSpec& p : model_specs_) micro_exe_->set(p.name, apply_exe_->get(p.name));
}

std::string StepRunner::backend() const { return (micro_ ? micro_exe_ : single_exe_)->backend(); }

std::string StepRunner::summary() const {
    if (!micro_) return single_exe_->summary();
    return fmt::format("{} micro-steps of {} rows: micro {}; apply {}", h_.grad_accum_steps(), micro_rows_,
                       micro_exe_->summary(), apply_exe_->summary());
}

std::string StepRunner::profile_report(int top) const {
    if (!micro_) return single_exe_->profile_report(top);
    std::string m = micro_exe_->profile_report(top), a = apply_exe_->profile_report(top);
    return m.empty() ? "" : "micro-step " + m + "apply " + a;
}

int64_t StepRunner::param_count() const {
    int64_t n = 0;
    for (const ParamSpec& p : model_specs_) n += numel(p.shape);
    return n;
}

}  // namespace pg
