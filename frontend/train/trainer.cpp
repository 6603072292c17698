// The training loop (see trainer.h).
#include "frontend/train/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <tuple>

#include "base/env.h"
#include "base/error.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/shard.h"
#include "frontend/data/token_stream.h"
#include "frontend/data/tokenizer.h"
#include "frontend/eval/eval_method.h"
#include "frontend/eval/eval_settings.h"
#include "frontend/export/checkpoint.h"
#include "frontend/train/data_parallel.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/calibration.h"
#include "frontend/train/finish_run.h"
#include "frontend/train/method_eval.h"
#include "frontend/train/guard_outputs.h"
#include "frontend/train/metrics_log.h"
#include "frontend/train/nan_guard.h"
#include "frontend/train/progress.h"
#include "frontend/train/resume.h"
#include "frontend/train/run_log.h"
#include "frontend/train/step_graphs.h"
#include "frontend/train/step_runner.h"
#include "frontend/train/weight_averaging.h"
#include "runtime/comm/world.h"
#include "frontend/train/stop_signals.h"
#include "base/determinism.h"
#include "runtime/executable.h"

namespace pg {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Validation with a progress line (the full split takes minutes at the challenge's size), split
// across the ranks of `world` (each its share of the windows, the fp64 sums all-reduced).
eval::BpbAccumulator evaluate_with_progress(Evaluator& evaluator, const eval::WindowPlan& plan,
                                            std::span<const uint16_t> tokens, const eval::ByteLuts& luts,
                                            ProgressLine& progress, comm::Communicator& world) {
    auto t0 = Clock::now();
    eval::BpbAccumulator acc =
        evaluator.evaluate(plan, tokens, luts, world.rank(), world.size(), [&](int64_t done, int64_t total) {
            progress.show(format_eval_progress("validation", done, total, ms_since(t0)));
        });
    progress.clear();
    return all_reduce_sums(world, acc);
}

std::string utc_timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                       tm.tm_min, tm.tm_sec);
}

void check_vocab(const std::vector<std::filesystem::path>& files, int64_t vocab) {
    for (const auto& f : files) data::check_token_range(data::Shard::open(f).tokens(), vocab, f.string());
}

// Warm-up steps run the real step and are then undone: weights, optimizer state and the
// loader restart from their initial state, as the baseline does after its compile warm-up.
void run_warmup(const Hyperparams& h, StepRunner& runner, const std::vector<std::filesystem::path>& train_files,
                const std::map<std::string, HostTensor>& init, RunLog& log, int rank) {
    data::DistributedTokenLoader warm_loader(train_files, rank, h.world_size);
    for (int64_t s = 0; s < h.warmup_steps; ++s) {
        runner.set_scalars(s, 1.0);
        runner.run(warm_loader);
        if (s + 1 == h.warmup_steps || (s + 1) % 10 == 0)
            log.line(fmt::format("warmup_step:{}/{}", s + 1, h.warmup_steps));
    }
    for (const auto& [name, value] : init) runner.set_state(name, value);
}

// Loads a checkpoint's state and loader position; returns {first step, training ms so far}.
std::pair<int64_t, double> restore(const io::Checkpoint& ck, StepRunner& runner, data::DistributedTokenLoader& loader,
                                   RunLog& log) {
    io::check_tensors_match(ck.tensors, runner.state_specs(), ck.source, true);
    for (const auto& [name, value] : ck.tensors) runner.set_state(name, value);
    int64_t first_step = ck.get_int(io::kStepKey);
    double training_ms = ck.get_double(io::kTrainElapsedMsKey);
    loader.skip_tokens(ck.get_int(std::string(io::kLoaderPrefix) + "tokens_consumed"));
    log.line(fmt::format("resumed from {} at step {} (train_time {:.0f}ms)", ck.source, first_step, training_ms));
    return {first_step, training_ms};
}

// Ends `result` as stopped after `steps` steps: the line goes to the log (and the terminal).
void stop_run(TrainResult& result, TrainStop why, int64_t steps, std::string message, std::string checkpoint,
              RunLog& log) {
    result.stop = why;
    result.steps = steps;
    result.stop_message = std::move(message);
    result.stop_checkpoint = std::move(checkpoint);
    log.line(result.stop_message);
}

// SIGINT / SIGTERM: the checkpoint after `steps` steps has been written to `path`.
void stop_on_signal(TrainResult& result, int signal, int64_t steps, const Hyperparams& h, const std::string& path,
                    RunLog& log) {
    stop_run(result, TrainStop::Signal, steps,
             fmt::format("stopped by {} after step {}/{}: checkpoint {}; continue with RESUME_FROM=auto RUN_DIR={}",
                         signal_name(signal), steps, h.iterations, path, h.run_dir),
             path, log);
    result.stop_signal = signal;
}

// The guard stopped step `steps` + 1 before its update (see nan_guard.h).
void stop_on_non_finite(TrainResult& result, StepRunner& runner, int64_t steps,
                        const std::function<std::string()>& save_last_good, RunLog& log) {
    NanStop nan = handle_non_finite_step(runner, steps + 1, save_last_good);
    stop_run(result, TrainStop::NonFinite, steps, nan.message, nan.checkpoint, log);
}

}  // namespace

TrainResult train(const Hyperparams& h) {
    auto t_start = Clock::now();
    comm::Communicator& world = comm::world();  // one rank of a data-parallel run, or a world of one
    RunLog log(h.run_dir + "/train.log", world.is_main());
    MetricsLog metrics(h.run_dir, world.is_main());
    ProgressLine progress(stderr, world.is_main());
    log.attach(&progress);
    log.line(fmt::format("run_id:{} run_dir:{}", h.run_id, h.run_dir));
    log.line(describe(h));
    if (world.size() > 1)
        log.line(fmt::format("data parallel: {} ranks, {}{}", world.size(), world.engine(),
                             muon_sharding_summary(h)));

    // Data: train shards, validation tokens and the metric's byte tables.
    std::filesystem::path data_dir = data::data_path();
    std::vector<std::filesystem::path> train_files = data::find_shards(data_dir, "train");
    PG_CHECK(!train_files.empty(), "no training shards (fineweb_train_*.bin) in DATA_PATH={}; run `pgolf prepare` "
             "or scripts/prepare_default_corpus.sh first", data_dir.string());
    check_vocab(train_files, h.model.vocab_size);
    data::ValidationTokens val = data::load_validation_tokens(data_dir, h.train_seq_len, h.model.vocab_size);
    data::Tokenizer tokenizer = data::Tokenizer::load(data::tokenizer_path());
    eval::ByteLuts luts = eval::build_byte_luts(tokenizer, h.model.vocab_size);
    int64_t val_bytes = eval::sum_target_bytes(val.tokens, luts, 1, val.usable + 1);
    log.line(fmt::format("train_shards:{} val_tokens:{} val_bytes:{} tokenizer:{}", train_files.size(), val.usable,
                         val_bytes, data::tokenizer_path().string()));
    eval::WindowPlan val_plan = eval::plan_baseline_windows(static_cast<int64_t>(val.tokens.size()), h.train_seq_len);
    // The final score's method (EVAL_METHOD over EVAL_SEQ_LEN windows), its settings checked now
    // rather than after training.
    const eval::EvalMethod& final_method = eval::configured_eval_method();
    const MethodEvalSetup final_setup{h.model, eval::eval_seq_len(h.train_seq_len), eval::eval_stride(), h.val_rows()};
    data::ValidationTokens final_val = final_setup.seq_len == h.train_seq_len
                                           ? val
                                           : data::load_validation_tokens(data_dir, final_setup.seq_len, h.model.vocab_size);
    check_method_settings(final_method, final_setup, static_cast<int64_t>(final_val.tokens.size()));

    // Graphs, compiled once.
    auto t_build = Clock::now();
    std::unique_ptr<Session> session = open_session();
    StepRunner runner(h, *session);
    Evaluator evaluator(h.model, std::min<int64_t>(h.val_rows(), static_cast<int64_t>(val_plan.windows.size())),
                        h.train_seq_len, *session);
    log.line(fmt::format("model_params:{} backend:{} build:{:.2f}s {} fusion:{}", runner.param_count(),
                         runner.backend(), ms_since(t_build) / 1000, runner.summary(), env::get("PG_FUSION")));
    metrics.write("run", {{"run_id", h.run_id}, {"settings", run_settings()}, {"model_params", runner.param_count()},
                          {"backend", runner.backend()}, {"started", utc_timestamp()}});
    std::map<std::string, HostTensor> init = runner.initial_state(static_cast<uint64_t>(h.seed));
    for (const auto& [name, value] : init) runner.set_state(name, value);
    auto snapshot = [&] {
        io::TensorMap state;
        for (const ParamSpec& p : runner.state_specs()) state.emplace(p.name, runner.get_state(p.name));
        return state;
    };
    // The resumable checkpoint after `steps` steps, from the session's state.
    auto save_step_checkpoint = [&](int64_t steps, double ms, int64_t tokens_consumed) {
        std::string path = (std::filesystem::path(h.run_dir) / step_checkpoint_name(steps)).string();
        io::save_checkpoint(path, make_checkpoint(snapshot(), steps, ms, tokens_consumed));
        log.line(fmt::format("saved checkpoint: {}", path));
        return path;
    };

    StopSignals signals;
    std::optional<io::Checkpoint> resume = resume_checkpoint(h.resume_from, h.run_dir, log);
    if (h.warmup_steps > 0 && !resume) run_warmup(h, runner, train_files, init, log, world.rank());
    data::DistributedTokenLoader loader(train_files, world.rank(), h.world_size);

    TrainResult result;
    result.run_dir = h.run_dir;
    double training_ms = 0;
    int64_t first_step = 0;
    if (resume) std::tie(first_step, training_ms) = restore(*resume, runner, loader, log);
    resume.reset();
    if (world.size() > 1) broadcast_state(world, *session, runner.state_specs());
    // Elapsed training time as the slowest rank sees it: every rank takes the same lr and cap decision.
    auto elapsed_ms = [&](double local) { return world.size() > 1 ? world.all_reduce_host(local, comm::ReduceOp::Max) : local; };
    int64_t stop_after = -1;
    RecipeSchedule schedule(h);
    auto t0 = Clock::now();
    for (int64_t step = first_step;;) {
        bool last = step == h.iterations || (stop_after >= 0 && step >= stop_after);
        if (last || (h.val_loss_every > 0 && step % h.val_loss_every == 0)) {
            training_ms += ms_since(t0);
            eval::BpbAccumulator acc = evaluate_with_progress(evaluator, val_plan, val.tokens, luts, progress, world);
            result.val_loss = acc.val_loss();
            result.val_bpb = acc.val_bpb();
            log.line(fmt::format("step:{}/{} val_loss:{:.4f} val_bpb:{:.4f} train_time:{:.0f}ms step_avg:{:.2f}ms", step,
                                 h.iterations, result.val_loss, result.val_bpb, training_ms,
                                 training_ms / static_cast<double>(std::max<int64_t>(step, 1))));
            metrics.write("val", {{"step", step}, {"val_loss", result.val_loss}, {"val_bpb", result.val_bpb},
                                  {"train_time_ms", training_ms}});
            t0 = Clock::now();
        }
        if (last) {
            if (stop_after >= 0 && step < h.iterations)
                log.line(fmt::format("stopping_early: wallclock_cap train_time:{:.0f}ms step:{}/{}", training_ms, step,
                                     h.iterations));
            result.steps = step;
            break;
        }
        if (int sig = signals.requested()) {
            training_ms += ms_since(t0);
            std::string path = save_step_checkpoint(step, training_ms, loader.tokens_consumed());
            stop_on_signal(result, sig, step, h, path, log);
            break;
        }
        int64_t tokens_before = loader.tokens_consumed();
        const StepSchedule sched = schedule.at(step, elapsed_ms(training_ms + ms_since(t0)));
        const double lr_scale = sched.lr_scale;
        const bool was_looping = runner.looping();
        runner.set_scalars(step, sched);
        if (!was_looping && runner.looping()) log.line(fmt::format("layer_loop:enabled step:{}", step));
        runner.plant_nan(step + 1 == nan_inject_step());
        runner.run(loader);
        if (!runner.applied()) {
            training_ms += ms_since(t0);
            auto save_last_good = [&] { return save_step_checkpoint(step, training_ms, tokens_before); };
            stop_on_non_finite(result, runner, step, save_last_good, log);
            break;
        }
        ++step;
        result.losses.push_back(runner.loss());
        double approx_ms = elapsed_ms(training_ms + ms_since(t0));
        progress.show(format_training_progress({step, h.iterations, approx_ms, 1000.0 * h.max_wallclock_seconds,
                                                h.train_batch_tokens, lr_scale, runner.loss()}));
        if (h.train_log_every > 0 && (step <= 10 || step % h.train_log_every == 0 || stop_after >= 0)) {
            log.line(fmt::format("step:{}/{} train_loss:{:.4f} train_time:{:.0f}ms step_avg:{:.2f}ms", step,
                                 h.iterations, runner.loss(), approx_ms,
                                 approx_ms / static_cast<double>(step)));
            metrics.write("train", {{"step", step}, {"train_loss", runner.loss()}, {"train_time_ms", approx_ms},
                                    {"step_avg_ms", approx_ms / static_cast<double>(step)}, {"lr_scale", lr_scale},
                                    {"tokens", loader.tokens_consumed()}});
        }
        if (stop_after < 0 && h.max_wallclock_seconds > 0 && approx_ms >= 1000.0 * h.max_wallclock_seconds)
            stop_after = step;
        if (h.checkpoint_every > 0 && step % h.checkpoint_every == 0 && step < h.iterations && world.is_main()) {
            training_ms += ms_since(t0);
            save_step_checkpoint(step, training_ms, loader.tokens_consumed());
            t0 = Clock::now();
        }
    }
    result.train_ms = training_ms;
    if (result.stop != TrainStop::Completed) {
        metrics.write("stop", {{"reason", result.stop == TrainStop::Signal ? "signal" : "non_finite"},
                               {"steps", result.steps}, {"message", result.stop_message},
                               {"checkpoint", result.stop_checkpoint}});
        return result;
    }
    int64_t state_elems = 0;
    for (const ParamSpec& p : runner.state_specs()) state_elems += numel(p.shape);
    log.line(fmt::format("peak memory: step plan {}; params/state {:.1f} MiB; total wall {:.1f}s", runner.summary(),
                         static_cast<double>(state_elems) * 4 / 1048576.0, ms_since(t_start) / 1000));
    if (std::string p = runner.profile_report(25); !p.empty()) log.line(p);
    result.state = averaged_weights(h.recipe, runner.graphs().model_specs, snapshot());
    if (world.size() > 1) {
        log.line(fmt::format("weights identical on all {} ranks: sha256 {}", world.size(),
                             check_same_weights(world, result.state).substr(0, 16)));
        if (!world.is_main()) return result;  // rank 0 alone writes and scores the artifact
    }
    RoundTrip rt = finish_run(h, make_checkpoint(result.state, result.steps, training_ms, loader.tokens_consumed()), log,
                              [&](const io::TensorMap& weights) {
                                  MethodResult r = evaluate_method(final_method, final_setup, weights, *session,
                                                                   final_val.tokens, luts, progress,
                                                                   [&](const std::string& l) { log.line(l); });
                                  log.line(format_method_result(final_method, r));
                                  return std::pair{r.acc.val_loss(), r.acc.val_bpb()};
                              },
                              [&](int64_t batches) {  // GPTQ: the next training batches, on the backend
                                  return collect_hessians(h, *session, io::model_params(result.state), loader, batches);
                              });
    result.roundtrip_val_loss = rt.val_loss;
    result.roundtrip_val_bpb = rt.val_bpb;
    result.artifact_bytes = rt.artifact_bytes;
    metrics.write("final", {{"steps", result.steps}, {"train_time_ms", training_ms}, {"val_loss", result.val_loss},
                            {"val_bpb", result.val_bpb}, {"roundtrip_val_loss", rt.val_loss},
                            {"roundtrip_val_bpb", rt.val_bpb}, {"artifact_bytes", rt.artifact_bytes},
                            {"code_bytes", model_code_bytes()}, {"total_bytes", rt.artifact_bytes + model_code_bytes()},
                            {"artifact", rt.artifact_file}});
    return result;
}

}  // namespace pg
