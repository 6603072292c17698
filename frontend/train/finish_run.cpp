// Checkpoint, artifact and round-trip evaluation (see finish_run.h).
#include "frontend/train/finish_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "frontend/export/artifact.h"
#include "frontend/export/quantize.h"
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

RoundTrip finish_run(const Hyperparams& h, const io::Checkpoint& checkpoint, RunLog& log,
                     const std::function<std::pair<double, double>(const io::TensorMap&)>& evaluate) {
    std::filesystem::path dir(h.run_dir);
    io::save_checkpoint(dir / io::kCheckpointFileName, checkpoint);
    log.line(fmt::format("saved checkpoint: {}", (dir / io::kCheckpointFileName).string()));

    io::QuantizedModel q = io::quantize_int8(io::model_params(checkpoint.tensors));
    io::QuantStats st = q.stats();
    std::filesystem::path artifact = dir / io::kArtifactFileName;
    io::ArtifactInfo info = io::save_artifact(artifact, q);
    const int64_t code = model_code_bytes();
    log.line(fmt::format("Serialized model int8+zstd: {} bytes (payload:{} raw:{} payload_ratio:{:.2f}x)",
                         info.compressed_bytes, st.int8_payload_bytes, st.baseline_tensor_bytes,
                         static_cast<double>(st.baseline_tensor_bytes) / std::max<int64_t>(st.int8_payload_bytes, 1)));
    int64_t total = static_cast<int64_t>(info.compressed_bytes) + code;
    log.line(fmt::format("Code size (model definition sources): {} bytes", code));
    log.line(fmt::format("Total submission size int8+zstd: {} bytes ({} the {}-byte cap)", total,
                         total <= kSubmissionCapBytes ? "within" : "OVER", kSubmissionCapBytes));

    // The score: the artifact as read back from disk.
    auto t0 = std::chrono::steady_clock::now();
    auto [loss, bpb] = evaluate(io::load_artifact_weights(artifact));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    log.line(fmt::format("final_int8_zstd_roundtrip val_loss:{:.4f} val_bpb:{:.4f} eval_time:{:.0f}ms", loss, bpb, ms));
    log.line(fmt::format("final_int8_zstd_roundtrip_exact val_loss:{:.8f} val_bpb:{:.8f}", loss, bpb));
    return {loss, bpb, static_cast<int64_t>(info.compressed_bytes)};
}

}  // namespace pg
