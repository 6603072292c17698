// `pgolf export (--model FILE | --init) --out FILE [--format artifact|safetensors] [--report]`:
// writes a model's weights (a model file's, or the settings' initialised model to size a preset
// before training) as the submission artifact (QUANT, COMPRESSOR, QUANT_PACK and GPTQ settings, the
// same code as the trainer's end of run) with its size against the 16,000,000-byte cap, or with
// the baseline's state_dict names for PyTorch (safetensors). GPTQ calibrates on the training
// shards of DATA_PATH or, with GPTQ_CALIB=selfgen, on text the model generates itself.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/shard.h"
#include "frontend/data/token_stream.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/export_model.h"
#include "frontend/export/model_file.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/calibration.h"
#include "frontend/train/finish_run.h"
#include "frontend/train/step_graphs.h"

namespace pg::cli {
namespace {

// The Hessians for GPTQ, from GPTQ_BATCHES micro-batches of the training shards, or from text the
// model generates itself (GPTQ_CALIB=selfgen: no data needed).
io::HessianMap calibrate(const Hyperparams& h, const io::TensorMap& weights, const io::GptqConfig& cfg) {
    std::unique_ptr<Session> session = open_session();
    if (cfg.self_generated) return collect_selfgen_hessians(h.model, *session, weights, selfgen_config_from_settings());
    std::vector<std::filesystem::path> files = data::find_shards(data::data_path(), "train");
    PG_CHECK(!files.empty(), "GPTQ calibration needs training shards (fineweb_train_*.bin) in DATA_PATH={}",
             data::data_path().string());
    data::DistributedTokenLoader loader(files, 0, h.world_size);
    return collect_hessians(h, *session, weights, loader, cfg.batches);
}

std::string gptq_note(const io::GptqConfig& cfg) {
    if (!cfg.enabled) return "";
    return cfg.self_generated ? ", GPTQ on self-generated text" : ", GPTQ on training batches";
}

int write_artifact(const std::string& out, const io::TensorMap& weights, bool report) {
    const io::ExportConfig cfg = io::export_config_from_settings();
    const Hyperparams h = read_hyperparams();
    const io::HessianMap hessians = cfg.gptq.enabled ? calibrate(h, weights, cfg.gptq) : io::HessianMap{};
    const io::ExportResult r = io::export_artifact(weights, cfg, hessians, out);
    const int64_t code = model_code_bytes();
    const std::string what = fmt::format("{}+{}", cfg.label(), r.info.compressor.family());
    if (report) {
        fmt::print("{}", io::format_report(io::tensor_reports(weights, r), r.info, code, what));
    } else {
        if (const std::string t = io::tried_line(r.info); !t.empty()) fmt::print("{}\n", t);
        fmt::print("{}\n", io::cap_line(what, static_cast<int64_t>(r.info.compressed_bytes), code));
    }
    fmt::print("wrote {} ({} artifact with {}, {} bytes; scheme {}{})\n", out, cfg.label(), r.info.compressor.name(),
               r.info.compressed_bytes, r.info.scheme, gptq_note(cfg.gptq));
    return 0;
}

// Removes a bare flag from `args`; whether it was there.
bool take_flag(std::vector<std::string>& args, const std::string& flag) {
    const auto it = std::find(args.begin(), args.end(), flag);
    if (it == args.end()) return false;
    args.erase(it);
    return true;
}

double parse_std(const std::string& text) {
    double v = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    PG_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= 0,
             "pgolf export: --init-std '{}' is not a non-negative number", text);
    return v;
}

// The model the settings define (PRESET, NUM_LAYERS, ...) as `pgolf train` initialises it (seed
// SEED); with std > 0, every weight matrix (2-D and not a control tensor) is drawn from
// N(0, std²) instead: the zero-initialised projections of a fresh model would compress to almost
// nothing, while trained matrices are dense, so Gaussian ones stand in for them when sizing an
// artifact before training (benchmarks/results/2026-12-01-export-presets.md compares them with the
// records' trained artifacts).
io::TensorMap initialised_weights(const Hyperparams& h, double std) {
    ModelGraph m = build_eval_graph(h.model, 1, h.train_seq_len);
    if (std > 0)
        for (const ParamSpec& p : m.params->specs())
            if (p.shape.size() == 2 && io::classify_tensor(p.name) != io::TensorClass::ctrl)
                m.params->set_init(p.name, Init::normal(std));
    return m.params->initialize(static_cast<uint64_t>(h.seed));
}

io::TensorMap checkpoint_weights(const std::string& path) {
    apply_checkpoint_model_settings(path);
    io::TensorMap weights = io::model_params(io::load_model_weights(path));
    const Hyperparams h = read_hyperparams();
    io::check_tensors_match(weights, build_eval_graph(h.model, 1, h.train_seq_len).params->specs(), path, false);
    return weights;
}

// The command's own options (Command::options: --model is the file, not the MODEL setting).
const std::vector<std::string> kOptions = {"model", "format", "out", "init-std"};

int run_export(std::vector<std::string> args) {
    const bool report = take_flag(args, "--report");
    const bool init = take_flag(args, "--init");
    auto opts = parse_options(args, kOptions, "export");
    PG_CHECK(opts.count("out") && (init != (opts.count("model") > 0)),
             "pgolf export needs --out FILE and either --model FILE or --init (the settings' initialised model)");
    PG_CHECK(init || !opts.count("init-std"), "pgolf export: --init-std goes with --init");
    const std::string format = opts.count("format") ? opts["format"] : "artifact";
    PG_CHECK(format == "artifact" || format == "int8" || format == "safetensors",
             "pgolf export: unknown --format '{}' (use artifact or safetensors)", format);
    const double std = opts.count("init-std") ? parse_std(opts["init-std"]) : 0.0;
    const std::string source = init ? "initialised model" : opts["model"];
    const io::TensorMap weights = init ? initialised_weights(read_hyperparams(), std) : checkpoint_weights(source);
    if (format == "safetensors") {
        io::write_safetensors(opts["out"], weights, {{"format", "pt"}, {"source", source}});
        fmt::print("wrote {} tensors to {} (safetensors)\n", weights.size(), opts["out"]);
        return 0;
    }
    return write_artifact(opts["out"], weights, report);
}

PG_COMMAND({.name = "export",
            .summary = "write a model as the quantized, compressed artifact (with its size against the cap) or as "
                       "safetensors",
            .usage = "pgolf export (--model FILE | --init [--init-std S]) --out FILE [--report]\n"
                     "             [--format artifact|safetensors] [--quant SPEC] [--compressor NAME]\n"
                     "             [--quant-pack bytes|bits] [--gptq 1]\n\n"
                     "FILE: a checkpoint (its model settings are used), safetensors file or artifact; other model\n"
                     "files need the model settings (e.g. --num-layers=9). --init exports the model the settings\n"
                     "define (e.g. PRESET=pr297) as training would start it (SEED), with --init-std S its weight\n"
                     "matrices drawn from N(0, S^2) (a stand-in for trained weights when sizing).\n"
                     "The artifact follows QUANT (e.g. attn:int6,mlp_up:int5,mlp_down:int4,emb:int8), COMPRESSOR\n"
                     "(zstd-22, xz-9e, brotli-11, auto) and GPTQ (calibrated on GPTQ_BATCHES training batches of\n"
                     "DATA_PATH, or with GPTQ_CALIB=selfgen on GPTQ_CALIB_NUM_SEQS sequences the model samples\n"
                     "itself); see docs/export.md.\n"
                     "--report prints each tensor's raw, quantized and compressed bytes and reconstruction error,\n"
                     "and the artifact + code bytes against the 16,000,000-byte cap. safetensors keeps the\n"
                     "baseline's state_dict names (load with safetensors.torch.load_file); optimizer state is\n"
                     "dropped.",
            .run = run_export,
            .options = kOptions});

}  // namespace
}  // namespace pg::cli
