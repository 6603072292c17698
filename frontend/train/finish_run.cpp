// Checkpoint, artifact, submission.json and round-trip evaluation (see finish_run.h).
#include "frontend/train/finish_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/error.h"
#include "frontend/eval/eval_method.h"
#include "frontend/export/submission_json.h"
#include "frontend/train/calibration_sampler.h"
#include "frontend/train/run_log.h"

namespace pg {

io::Checkpoint make_checkpoint(const io::TensorMap& state, int64_t step, double train_ms, int64_t tokens_consumed) {
    io::Checkpoint c;
    c.tensors = state;
    c.set_int(io::kStepKey, step);
    c.set_double(io::kTrainElapsedMsKey, train_ms);
    c.set_int(std::string(io::kLoaderPrefix) + "tokens_consumed", tokens_consumed);
    c.set_config(run_settings());
    return c;
}

namespace {

std::string calibration_text(const io::GptqConfig& cfg) {
    if (!cfg.self_generated) return fmt::format("{} training batches", cfg.batches);
    const SelfGenConfig g = selfgen_config_from_settings();
    return fmt::format("{} self-generated sequences of {} tokens (temperature {}, seed {})", g.num_seqs, g.seq_len,
                       g.temperature, g.seed);
}

}  // namespace

RoundTrip finish_run(const Hyperparams& h, const io::Checkpoint& checkpoint, RunLog& log, const EvaluateFn& evaluate,
                     const CalibrateFn& calibrate) {
    std::filesystem::path dir(h.run_dir);
    io::save_checkpoint(dir / io::kCheckpointFileName, checkpoint);
    log.line(fmt::format("saved checkpoint: {}", (dir / io::kCheckpointFileName).string()));

    const io::ExportConfig cfg = io::export_config_from_settings();
    io::HessianMap hessians;
    if (cfg.gptq.enabled) {
        PG_CHECK(calibrate != nullptr, "GPTQ=1 needs calibration batches, which this run cannot provide");
        auto t0 = std::chrono::steady_clock::now();
        hessians = calibrate(cfg.gptq.batches);
        log.line(fmt::format("gptq: {} Hessians from {} in {:.0f}ms", hessians.size(), calibration_text(cfg.gptq),
                             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()));
    }
    const io::TensorMap weights = io::model_params(checkpoint.tensors);
    std::filesystem::path artifact = dir / io::artifact_file_name(cfg.label(), cfg.compressors.front());
    const io::ExportResult r = io::export_artifact(weights, cfg, hessians, artifact);
    // COMPRESSOR=auto: the file extension names the compressor that won (rename is atomic).
    if (const auto named = dir / io::artifact_file_name(cfg.label(), r.info.compressor); named != artifact) {
        std::filesystem::rename(artifact, named);
        artifact = named;
    }
    const io::QuantStats st = r.model.stats();
    const int64_t code = model_code_bytes();
    const std::string what = fmt::format("{}+{}", cfg.label(), r.info.compressor.family());
    log.line(fmt::format("quant_scheme:{} codes:{} compressor:{} artifact:{}", r.info.scheme,
                         r.info.pack_bits ? "bits" : "bytes", r.info.compressor.name(), artifact.string()));
    if (const std::string t = io::tried_line(r.info); !t.empty()) log.line(t);
    log.line(fmt::format("Serialized model {}: {} bytes (payload:{} raw:{} payload_ratio:{:.2f}x)", what,
                         r.info.compressed_bytes, st.int8_payload_bytes, st.baseline_tensor_bytes,
                         static_cast<double>(st.baseline_tensor_bytes) / std::max<int64_t>(st.int8_payload_bytes, 1)));
    log.line(fmt::format("Code size (model definition sources): {} bytes", code));
    log.line(io::cap_line(what, static_cast<int64_t>(r.info.compressed_bytes), code));

    // The score: the artifact as read back from disk.
    auto t0 = std::chrono::steady_clock::now();
    auto [loss, bpb] = evaluate(io::load_artifact_weights(artifact));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const std::string tag = fmt::format("final_{}_{}_roundtrip", cfg.label(), r.info.compressor.family());
    const eval::EvalMethod& method = eval::configured_eval_method();
    const std::string mark = method.legal() ? "" : " NON-RECORD";
    log.line(fmt::format("{} val_loss:{:.4f} val_bpb:{:.4f} eval_method:{} eval_time:{:.0f}ms{}", tag, loss, bpb,
                         method.name, ms, mark));
    log.line(fmt::format("{}_exact val_loss:{:.8f} val_bpb:{:.8f}{}", tag, loss, bpb, mark));

    io::SubmissionInfo sub = io::submission_from_settings();
    sub.val_loss = loss;
    sub.val_bpb = bpb;
    sub.bytes_model = static_cast<int64_t>(r.info.compressed_bytes);
    sub.bytes_code = code;
    sub.quant_scheme = r.info.scheme;
    sub.compressor = r.info.compressor.name();
    sub.eval_method = method.name;
    sub.non_record = !method.legal();
    io::write_submission_json(dir / io::kSubmissionFileName, sub);
    return {loss, bpb, static_cast<int64_t>(r.info.compressed_bytes), artifact.filename().string()};
}

}  // namespace pg
