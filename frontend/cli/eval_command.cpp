// `pgolf eval --model FILE`: evaluates a checkpoint, a safetensors file or an artifact on the
// validation split of DATA_PATH: the baseline's non-overlapping sequences and, when EVAL_STRIDE is
// below the window length, the sliding window of pgolf-spec §2.4.
#include <fmt/format.h>

#include <chrono>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/eval/eval_settings.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/progress.h"

namespace pg::cli {
namespace {

int run_eval(std::vector<std::string> args) {
    auto opts = parse_options(args, {"model"}, "eval");
    PG_CHECK(opts.count("model"), "pgolf eval needs --model FILE (a .ckpt, .safetensors or artifact)");
    const std::string path = opts["model"];
    int applied = apply_checkpoint_model_settings(path);
    Hyperparams h = read_hyperparams();
    io::TensorMap weights = io::load_model_weights(path);
    const int64_t seq_len = eval::eval_seq_len(h.train_seq_len);
    const int64_t stride = eval::eval_stride();
    fmt::print("model: {} ({}{})\n", path, io::model_file_kind_name(io::detect_model_file(path)),
               applied ? fmt::format(", {} model settings from the checkpoint", applied) : "");

    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq_len, h.model.vocab_size);
    data::Tokenizer tokenizer = data::Tokenizer::load(data::tokenizer_path());
    eval::ByteLuts luts = eval::build_byte_luts(tokenizer, h.model.vocab_size);
    fmt::print("val_tokens:{} val_bytes:{} seq_len:{}\n", val.usable,
               eval::sum_target_bytes(val.tokens, luts, 1, val.usable + 1), seq_len);

    std::unique_ptr<Session> session = open_session();
    auto run = [&](const eval::WindowPlan& plan, const char* label) {
        Evaluator ev(h.model, std::min<int64_t>(h.val_rows(), static_cast<int64_t>(plan.windows.size())), seq_len,
                     *session);
        io::check_tensors_match(io::model_params(weights), ev.params().specs(), path, false);
        ev.set_weights(weights);
        auto t0 = std::chrono::steady_clock::now();
        auto elapsed_ms = [&] {
            return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        };
        ProgressLine progress;
        eval::BpbAccumulator acc = ev.evaluate(plan, val.tokens, luts, 0, 1, [&](int64_t done, int64_t total) {
            progress.show(format_eval_progress(label, done, total, elapsed_ms()));
        });
        progress.clear();
        double ms = elapsed_ms();
        fmt::print("{} val_loss:{:.8f} val_bpb:{:.8f} windows:{} scored:{} eval_time:{:.0f}ms\n", label, acc.val_loss(),
                   acc.val_bpb(), plan.windows.size(), static_cast<int64_t>(acc.tokens()), ms);
    };
    const int64_t n = static_cast<int64_t>(val.tokens.size());
    run(eval::plan_baseline_windows(n, seq_len), "baseline");
    if (stride < seq_len) run(eval::plan_sliding_windows(n, seq_len, stride), fmt::format("sliding_window_stride{}", stride).c_str());
    return 0;
}

PG_COMMAND({.name = "eval",
            .summary = "evaluate a checkpoint, safetensors file or artifact (val_loss, val_bpb)",
            .usage = "pgolf eval --model FILE [--SETTING=value ...]\n\n"
                     "FILE: a pgolf checkpoint (.ckpt; its model settings are used), a safetensors file with\n"
                     "the baseline's state_dict names, or an artifact of `pgolf export` (give the model settings, e.g.\n"
                     "--num-layers=9, as for training). Evaluates the validation split of DATA_PATH with the\n"
                     "baseline's non-overlapping sequences and, when EVAL_STRIDE < the window (EVAL_SEQ_LEN, or\n"
                     "TRAIN_SEQ_LEN), with the sliding window.",
            .run = run_eval});

}  // namespace
}  // namespace pg::cli
