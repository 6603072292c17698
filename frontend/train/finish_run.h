// The end of a training run, as the records end it: the full-precision checkpoint
// (final_model.ckpt), the artifact (final_model.<scheme>.<zst|xz|br>, by QUANT / COMPRESSOR /
// GPTQ through the same export code as `pgolf export`) with its size and the model-definition code
// bytes against the 16,000,000-byte cap, then the artifact is read back from disk, dequantised and
// evaluated: the final_<scheme>_<compressor>_roundtrip_exact line is the score. submission.json
// is written beside the artifact.
#pragma once
#include <functional>
#include <string>

#include "frontend/export/checkpoint.h"
#include "frontend/export/export_model.h"
#include "frontend/train/hyperparams.h"

namespace pg {

class Evaluator;
class RunLog;

// Bytes of the model-definition sources (generated at build time by cmake/model_code_bytes.cmake).
int64_t model_code_bytes();

// The challenge's cap on artifact + code bytes.
inline constexpr int64_t kSubmissionCapBytes = io::kSubmissionCapBytes;

// Metadata every checkpoint carries: step, elapsed training ms, config.* knobs, loader position.
io::Checkpoint make_checkpoint(const io::TensorMap& state, int64_t step, double train_ms, int64_t tokens_consumed);

struct RoundTrip {
    double val_loss = 0, val_bpb = 0;
    int64_t artifact_bytes = 0;
    std::string artifact_file;  // its file name in the run directory
};

using EvaluateFn = std::function<std::pair<double, double>(const io::TensorMap&)>;
using CalibrateFn = std::function<io::HessianMap(int64_t batches)>;

// Writes checkpoint, artifact and submission.json into h.run_dir and evaluates the artifact with
// `evaluate` (which loads the given weights and returns {val_loss, val_bpb}). With GPTQ=1,
// `calibrate` collects the Hessians (it must be given then).
RoundTrip finish_run(const Hyperparams& h, const io::Checkpoint& checkpoint, RunLog& log, const EvaluateFn& evaluate,
                     const CalibrateFn& calibrate = {});

}  // namespace pg
