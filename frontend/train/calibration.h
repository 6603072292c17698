// GPTQ calibration (pgolf-spec §4.5): the model's forward pass compiled with one extra output per
// linear layer, "hessian.<weight>" = XᵀX [in, in] (fp32) of the layer's inputs X [tokens, in] over
// the batch, from the same model definition (nn::ScopedLinearInputObserver). c_q, c_k and c_v share
// the attention input, attn.proj sees the heads' outputs, mlp.fc the MLP input, mlp.proj the
// activated hidden, and the tied embedding the final-norm output. The graph runs on the backend
// over training batches or over text the model generated itself (GPTQ_CALIB, calibration_sampler.h);
// the host only adds the per-batch outputs up (in double).
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "frontend/data/token_stream.h"
#include "frontend/export/gptq.h"
#include "frontend/train/calibration_sampler.h"
#include "frontend/train/hyperparams.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"

namespace pg {

// Outputs "hessian.<weight>" for every linear weight; the weight names in `weights`.
ModelGraph build_calibration_graph(const GptConfig& cfg, int64_t rows, int64_t seq_len,
                                   std::vector<std::string>* weights);

class Calibrator {
public:
    Calibrator(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session);

    // Copies model weights into the session (a missing weight is a pg::Error).
    void set_weights(const io::TensorMap& weights);
    // Runs one batch of rows × seq_len input ids and adds its XᵀX to the sums.
    void add_batch(std::span<const int32_t> ids);
    const io::HessianMap& hessians() const { return sums_; }

private:
    ModelGraph model_;
    std::vector<std::string> weights_;
    std::unique_ptr<Executable> exe_;
    HostTensor ids_, targets_;
    io::HessianMap sums_;
};

// The Hessians of `weights` over `batches` micro-batches of the training stream (the training
// step's micro-batch shape: TRAIN_BATCH_TOKENS / grad_accum tokens), compiled in `session`; with
// GPTQ_CALIB=selfgen, collect_selfgen_hessians with the GPTQ_CALIB_* settings instead (the loader
// and `batches` are then unused).
io::HessianMap collect_hessians(const Hyperparams& h, Session& session, const io::TensorMap& weights,
                                data::DistributedTokenLoader& loader, int64_t batches);

// The Hessians of `weights` over the sequences the model itself generates (calibration_sampler.h),
// in batches of cfg.batch × cfg.seq_len.
io::HessianMap collect_selfgen_hessians(const GptConfig& model, Session& session, const io::TensorMap& weights,
                                        const SelfGenConfig& cfg);

}  // namespace pg
