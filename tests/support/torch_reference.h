// Running the PyTorch references of tests/parity/ (Debian's python3-torch, CPU) from a test: the
// script gets CONFIG.json, IN.safetensors and OUT.safetensors in a test directory; helpers write
// the pieces those scripts share (the model's shape, the token stream, weights without zeros).
#pragma once
#include <filesystem>
#include <span>
#include <string>

#include "frontend/export/safetensors.h"
#include "frontend/models/gpt.h"

namespace pg::reference {

// Whether /usr/bin/python3 imports torch (else the caller skips).
bool torch_available();

// Runs tests/parity/<script> dir/ref.json dir/ref_in.safetensors dir/ref_out.safetensors and
// returns what it wrote (REQUIREs a zero exit status).
io::TensorMap run_torch_script(const std::string& script, const std::filesystem::path& dir);

// "vocab": V, "layers": L, "dim": d, "heads": H, "kv_heads": Hkv, "mlp_mult": m (a JSON fragment).
std::string model_json(const GptConfig& m);

// The stream as an i32 tensor [n] (safetensors has no u16 the scripts read).
HostTensor stream_tensor(std::span<const uint16_t> stream);

// The model's initial weights (seed 9) with every all-zero tensor (the zero-initialised output
// projections) filled with 0.05 sin(1 + i), so that every block affects the loss from the start.
io::TensorMap weights_without_zeros(const GptConfig& model, int64_t seq);

}  // namespace pg::reference
