// `pgolf export --model FILE --out FILE [--format artifact|safetensors] [--report]`: writes a
// model's weights as the submission artifact (QUANT, COMPRESSOR, QUANT_PACK and GPTQ settings, the
// same code as the trainer's end of run) with its size against the 16,000,000-byte cap, or with
// the baseline's state_dict names for PyTorch (safetensors). GPTQ calibrates on the training
// shards of DATA_PATH or, with GPTQ_CALIB=selfgen, on text the model generates itself.
#include <fmt/format.h>

#include <algorithm>

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

int run_export(std::vector<std::string> args) {
    const auto report_flag = std::find(args.begin(), args.end(), "--report");
    const bool report = report_flag != args.end();
    if (report) args.erase(report_flag);
    auto opts = parse_options(args, {"model", "format", "out"}, "export");
    PG_CHECK(opts.count("model") && opts.count("out"),
             "pgolf export needs --model FILE and --out FILE (and --format artifact|safetensors)");
    const std::string format = opts.count("format") ? opts["format"] : "artifact";
    PG_CHECK(format == "artifact" || format == "int8" || format == "safetensors",
             "pgolf export: unknown --format '{}' (use artifact or safetensors)", format);
    const std::string path = opts["model"];
    apply_checkpoint_model_settings(path);
    io::TensorMap weights = io::model_params(io::load_model_weights(path));
    const Hyperparams h = read_hyperparams();
    io::check_tensors_match(weights, build_eval_graph(h.model, 1, h.train_seq_len).params->specs(), path, false);
    if (format == "safetensors") {
        io::write_safetensors(opts["out"], weights, {{"format", "pt"}, {"source", path}});
        fmt::print("wrote {} tensors to {} (safetensors)\n", weights.size(), opts["out"]);
        return 0;
    }
    return write_artifact(opts["out"], weights, report);
}

PG_COMMAND({.name = "export",
            .summary = "write a model as the quantized, compressed artifact (with its size against the cap) or as "
                       "safetensors",
            .usage = "pgolf export --model FILE --out FILE [--format artifact|safetensors] [--report]\n"
                     "             [--quant SPEC] [--compressor NAME] [--quant-pack bytes|bits] [--gptq 1]\n\n"
                     "FILE: a checkpoint (its model settings are used), safetensors file or artifact; other model\n"
                     "files need the model settings (e.g. --num-layers=9). The artifact follows QUANT (e.g.\n"
                     "attn:int6,mlp_up:int5,mlp_down:int4,emb:int8), COMPRESSOR (zstd-22, xz-9e, brotli-11, auto)\n"
                     "and GPTQ (calibrated on GPTQ_BATCHES training batches of DATA_PATH, or with GPTQ_CALIB=selfgen\n"
                     "on GPTQ_CALIB_NUM_SEQS sequences the model samples itself); see docs/export.md.\n"
                     "--report prints each tensor's raw, quantized and compressed bytes and reconstruction error,\n"
                     "and the artifact + code bytes against the 16,000,000-byte cap. safetensors keeps the\n"
                     "baseline's state_dict names (load with safetensors.torch.load_file); optimizer state is\n"
                     "dropped.",
            .run = run_export});

}  // namespace
}  // namespace pg::cli
