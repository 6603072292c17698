// The end of a training run, as the baseline ends it: the full-precision checkpoint
// (final_model.ckpt), the int8 + zstd-22 artifact (final_model.int8.zst) with its size and the
// model-definition code bytes against the 16,000,000-byte cap, then the artifact is read back
// from disk, dequantised and evaluated: the final_int8_zstd_roundtrip_exact line is the score.
#pragma once
#include <functional>
#include <string>

#include "frontend/export/checkpoint.h"
#include "frontend/train/hyperparams.h"

namespace pg {

class Evaluator;
class RunLog;

// Bytes of the model-definition sources (generated at build time by cmake/model_code_bytes.cmake).
int64_t model_code_bytes();

// The challenge's cap on artifact + code bytes.
inline constexpr int64_t kSubmissionCapBytes = 16'000'000;

// Metadata every checkpoint carries: step, elapsed training ms, config.* knobs, loader position.
io::Checkpoint make_checkpoint(const io::TensorMap& state, int64_t step, double train_ms, int64_t tokens_consumed);

struct RoundTrip {
    double val_loss = 0, val_bpb = 0;
    int64_t artifact_bytes = 0;
};

// Writes checkpoint and artifact into h.run_dir and evaluates the artifact with `evaluate`
// (which loads the given weights and returns {val_loss, val_bpb}).
RoundTrip finish_run(const Hyperparams& h, const io::Checkpoint& checkpoint, RunLog& log,
                     const std::function<std::pair<double, double>(const io::TensorMap&)>& evaluate);

}  // namespace pg
