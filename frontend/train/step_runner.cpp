// The training step in a session (see step_runner.h).
#include "frontend/train/step_runner.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/guard_outputs.h"
#include "frontend/train/trainer.h"
#include "runtime/comm/world.h"

namespace pg {

StepRunner::StepRunner(const Hyperparams& h, Session& session)
    : h_(h), session_(session), graphs_(build_training_graphs(h)) {
    micro_exe_ = compile_executable(session_, *graphs_.micro.graph);
    if (graphs_.micro_sync.graph) sync_exe_ = compile_executable(session_, *graphs_.micro_sync.graph);
    if (graphs_.micro_preloop.graph) preloop_exe_ = compile_executable(session_, *graphs_.micro_preloop.graph);
    if (graphs_.micro_preloop_sync.graph)
        preloop_sync_exe_ = compile_executable(session_, *graphs_.micro_preloop_sync.graph);
    if (graphs_.muon_shard.graph) muon_shard_exe_ = compile_executable(session_, *graphs_.muon_shard.graph);
    optimizer_exe_ = compile_executable(session_, *graphs_.optimizer.graph);
    ids_ = HostTensor(DType::i32, {graphs_.micro_rows, h_.train_seq_len});
    targets_ = HostTensor(DType::i32, {graphs_.micro_rows, h_.train_seq_len});
    if (comm::world().engine() != "local") {
        comm_ = &comm::world();
        session_.set_communicator(comm_);
    }
    set_recipe_switches({});
    check_ = nan_check_mode();
    for (Executable* e : micro_executables()) e->check_outputs(check_ == NanCheck::Full);
    if (muon_shard_exe_) muon_shard_exe_->check_outputs(check_ == NanCheck::Full);
    optimizer_exe_->check_outputs(check_ == NanCheck::Full);
    plant_nan(false);
}

std::vector<Executable*> StepRunner::micro_executables() {
    std::vector<Executable*> out;
    for (auto* e : {&micro_exe_, &sync_exe_, &preloop_exe_, &preloop_sync_exe_})
        if (*e) out.push_back(e->get());
    return out;
}

void StepRunner::set_recipe_switches(const StepSchedule& s) {
    if (h_.recipe.qat())
        for (Executable* e : micro_executables()) e->set_scalar(nn::kQatScalar, s.qat ? 1.0 : 0.0);
    if (h_.recipe.swa) optimizer_exe_->set_scalar("swa_take", s.swa_take ? 1.0 : 0.0);
    looping_ = s.looping || !preloop_exe_;
}

void StepRunner::set_scalars(int64_t step, const StepSchedule& s) {
    set_scalars(step, s.lr_scale);
    set_recipe_switches(s);
}

void StepRunner::plant_nan(bool on) {
    for (Executable* e : {micro_exe_.get(), preloop_exe_.get()})
        if (e && e->has_leaf(std::string(kNanInjectScalar)))
            e->set_scalar(std::string(kNanInjectScalar), on ? std::numeric_limits<double>::quiet_NaN() : 0.0);
}

std::map<std::string, HostTensor> StepRunner::initial_state(uint64_t seed) const {
    std::map<std::string, HostTensor> all = graphs_.optimizer.params->initialize(seed);
    if (graphs_.muon_shard.params) all.merge(graphs_.muon_shard.params->initialize(seed));  // momentum shards
    std::map<std::string, HostTensor> out;
    for (const ParamSpec& p : graphs_.state_specs) out.emplace(p.name, std::move(all.at(p.name)));
    return out;
}

void StepRunner::set_state(const std::string& name, const HostTensor& value) { session_.set(name, value); }

HostTensor StepRunner::get_state(const std::string& name) const { return session_.get(name); }

void StepRunner::set_scalars(int64_t step, double lr_mul) {
    step_start_ = session_.transfers();
    scalars_set_ = true;
    Executable& e = *optimizer_exe_;
    e.set_scalar("step", static_cast<double>(step + 1));
    e.set_scalar("lr.embed", h_.tied_embed_lr * lr_mul);
    e.set_scalar("lr.scalar", h_.scalar_lr * lr_mul);
    e.set_scalar("lr.matrix", h_.matrix_lr * lr_mul);
    // Muon's momentum is in the shard graph with parallel Muon (and absent from a rank that owns no
    // matrix with round-robin Muon).
    for (Executable* muon : {optimizer_exe_.get(), muon_shard_exe_.get()})
        if (muon && muon->has_leaf("muon_momentum")) muon->set_scalar("muon_momentum", muon_momentum(h_, step));
}

void StepRunner::run(const BatchSource& next_batch) {
    TransferStats before = scalars_set_ ? step_start_ : session_.transfers();
    scalars_set_ = false;
    fault_.clear();
    fault_kernel_.clear();
    grad_norm_ = std::numeric_limits<double>::quiet_NaN();
    double loss_sum = 0;
    for (int64_t micro = 0; micro < graphs_.micro_steps && fault_.empty(); ++micro)
        loss_sum += run_micro(micro, next_batch);
    loss_ = loss_sum / static_cast<double>(graphs_.micro_steps);
    if (comm_) loss_ = comm_->all_reduce_host(loss_, comm::ReduceOp::Avg);  // a NaN on any rank reaches all
    if (fault_.empty() && check_ == NanCheck::Grad) check_grad_norm();
    if (fault_.empty()) run_optimizer();
    ++steps_run_;
    last_transfers_ = session_.transfers() - before;
    if (env::get_bool("PG_DEBUG"))
        fmt::print(stderr, "[pg] step {} host<->device: {}\n", steps_run_, last_transfers_.to_string());
}

Executable& StepRunner::micro_executable(int64_t micro) {
    const bool sync = sync_exe_ && micro + 1 == graphs_.micro_steps;
    if (looping_) return sync ? *sync_exe_ : *micro_exe_;
    return sync ? *preloop_sync_exe_ : *preloop_exe_;
}

double StepRunner::run_micro(int64_t micro, const BatchSource& next_batch) {
    last_micro_ = micro;
    next_batch(micro, ids_, targets_);
    Executable& exe = micro_executable(micro);
    exe.set("ids", ids_);
    exe.set("targets", targets_);
    try {
        exe.run();
    } catch (const NonFiniteError& e) {
        fault_ = fmt::format("micro-step {}: {}", micro, e.what());
        fault_kernel_ = e.kernel();
        return std::numeric_limits<double>::quiet_NaN();
    }
    double loss = exe.get("loss").get(0);
    if (check_ != NanCheck::Off && !std::isfinite(loss)) fault_ = fmt::format("micro-step {}: loss is {}", micro, loss);
    return loss;
}

void StepRunner::check_grad_norm() {
    grad_norm_ = std::sqrt(micro_executable(graphs_.micro_steps - 1).get(std::string(kGradSquareOutput)).get(0));
    if (!std::isfinite(grad_norm_)) fault_ = fmt::format("the global gradient norm is {}", grad_norm_);
}

void StepRunner::run_optimizer() {
    try {
        if (muon_shard_exe_) muon_shard_exe_->run();  // parallel Muon's share of Newton-Schulz
        optimizer_exe_->run();
    } catch (const NonFiniteError& e) {
        fault_ = fmt::format("optimizer: {}", e.what());
        fault_kernel_ = e.kernel();
    }
}

void StepRunner::run(data::DistributedTokenLoader& loader) {
    run([&](int64_t, HostTensor& ids, HostTensor& targets) {
        data::TokenBatch b = loader.next_batch(h_.train_batch_tokens, h_.train_seq_len, graphs_.micro_steps);
        PG_ASSERT(b.inputs.size() * 4 == ids.bytes.size(), "micro-batch of {} tokens for {} bytes", b.inputs.size(),
                  ids.bytes.size());
        std::memcpy(ids.data(), b.inputs.data(), ids.bytes.size());
        std::memcpy(targets.data(), b.targets.data(), targets.bytes.size());
    });
}

std::string StepRunner::backend() const { return micro_exe_->backend(); }

std::string StepRunner::summary() const {
    std::string sync =
        sync_exe_ ? fmt::format("; the last all-reduces its gradients in {} bucket(s)", sync_exe_->collectives()) : "";
    if (muon_shard_exe_) sync += fmt::format("; parallel Muon shard {}", muon_shard_exe_->summary());
    std::string preloop = preloop_exe_ ? fmt::format("; micro before the loop {}", preloop_exe_->summary()) : "";
    return fmt::format("{} micro-steps of {} rows: micro {}{}{}; optimizer {}", graphs_.micro_steps,
                       graphs_.micro_rows, micro_exe_->summary(), sync, preloop, optimizer_exe_->summary());
}

std::string StepRunner::profile_report(int top) const {
    std::string m = micro_exe_->profile_report(top), a = optimizer_exe_->profile_report(top);
    return m.empty() ? "" : "micro-step " + m + "optimizer " + a;
}

int64_t StepRunner::param_count() const {
    int64_t n = 0;
    for (const ParamSpec& p : graphs_.model_specs) n += numel(p.shape);
    return n;
}

}  // namespace pg
