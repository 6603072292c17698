// `pgolf eval --model FILE`: evaluates a checkpoint, a safetensors file or an artifact on the
// validation split of DATA_PATH with every evaluation method (frontend/eval/eval_method.h) or those
// named by --methods, each with its evaluation time; --token-losses writes every scored target's
// loss per method.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/data/validation.h"
#include "frontend/eval/eval_method.h"
#include "frontend/eval/eval_settings.h"
#include "frontend/eval/token_losses.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "frontend/train/data_parallel.h"
#include "frontend/train/method_eval.h"
#include "frontend/train/progress.h"
#include "runtime/comm/world.h"
#include "runtime/executable.h"

namespace pg::cli {
namespace {

// FILE with the method's name before the extension when several methods write loss files.
std::filesystem::path loss_file(const std::string& file, std::string_view method, bool several) {
    std::filesystem::path p(file);
    if (!several) return p;
    return p.parent_path() / fmt::format("{}.{}{}", p.stem().string(), method, p.extension().string());
}

// The command's own options (Command::options: --model is the file, not the MODEL setting).
const std::vector<std::string> kOptions = {"model", "methods", "token-losses"};

int eval_model(const std::vector<std::string>& args) {
    auto opts = parse_options(args, kOptions, "eval");
    PG_CHECK(opts.count("model"), "pgolf eval needs --model FILE (a .ckpt, .safetensors or artifact)");
    const std::string path = opts["model"];
    const std::vector<eval::EvalMethod> methods =
        eval::parse_eval_methods(opts.count("methods") ? opts["methods"] : std::string("all"));
    for (const eval::EvalMethod& m : methods) eval::check_eval_method_allowed(m);  // refuse before any work
    int applied = apply_checkpoint_model_settings(path);
    Hyperparams h = read_hyperparams();
    io::TensorMap weights = io::load_model_weights(path);
    comm::Communicator& world = comm::world();
    check_same_settings(world);
    auto print = [&](const std::string& line) {  // rank 0 speaks for the world
        if (world.is_main()) fmt::print("{}\n", line);
    };
    MethodEvalSetup setup{h.model, eval::eval_seq_len(h.train_seq_len), eval::eval_stride(), h.val_rows(),
                          opts.count("token-losses") > 0, &world};
    print(fmt::format("model: {} ({}{})", path, io::model_file_kind_name(io::detect_model_file(path)),
                      applied ? fmt::format(", {} model settings from the checkpoint", applied) : ""));

    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), setup.seq_len, h.model.vocab_size);
    data::Tokenizer tokenizer = data::Tokenizer::load(data::tokenizer_path());
    eval::ByteLuts luts = eval::build_byte_luts(tokenizer, h.model.vocab_size);
    setup.bos_id = static_cast<uint16_t>(tokenizer.bos_id());
    print(fmt::format("val_tokens:{} val_bytes:{} seq_len:{} stride:{}", val.usable,
                      eval::sum_target_bytes(val.tokens, luts, 1, val.usable + 1), setup.seq_len, setup.stride));

    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    for (const eval::EvalMethod& m : methods) {
        MethodResult r = evaluate_method(m, setup, weights, *session, val.tokens, luts, progress, print);
        print(format_method_result(m, r));
        if (setup.record_losses && world.is_main()) {
            auto file = loss_file(opts["token-losses"], m.name, methods.size() > 1);
            eval::write_token_losses(file, r.target_losses, val.tokens, luts);
            print(fmt::format("{} token losses: {}", m.name, file.string()));
        }
        std::fflush(stdout);
    }
    return 0;
}

int run_eval(std::vector<std::string> args) {
    return comm::run_as_rank([&] { return eval_model(args); });
}

PG_COMMAND({.name = "eval",
            .summary = "evaluate a checkpoint, safetensors file or artifact with every evaluation method",
            .usage = "pgolf eval --model FILE [--methods LIST] [--token-losses FILE] [--SETTING=value ...]\n\n"
                     "FILE: a pgolf checkpoint (.ckpt; its model settings are used), a safetensors file with\n"
                     "the baseline's state_dict names, or an artifact of `pgolf export` (give the model settings, e.g.\n"
                     "--num-layers=9, as for training). Evaluates the validation split of DATA_PATH with each\n"
                     "evaluation method of LIST (comma-separated; default all): baseline, sliding, ngram_tilt,\n"
                     "ngram_mix, ttt_sgd, ttt_phased, ttt_lora_doc, ttt_lora_batch and, with NON_RECORD=1 only,\n"
                     "ttt_pre_eval, backoff_cache and slot (they break the rules; non-record).\n"
                     "Windows are EVAL_SEQ_LEN (or TRAIN_SEQ_LEN) tokens, the sliding stride EVAL_STRIDE.\n"
                     "Prints val_loss, val_bpb and the evaluation time of each method.\n"
                     "--token-losses FILE: a TSV of every scored target (position, token, loss_nats, bytes) per\n"
                     "method (FILE.<method>.tsv-style names when several methods run).\n"
                     "Under mpirun, torchrun or `pgolf launch` the baseline and sliding windows are split across\n"
                     "the ranks and their fp64 sums all-reduced; the other methods run whole on every rank.",
            .run = run_eval,
            .options = kOptions});

}  // namespace
}  // namespace pg::cli
