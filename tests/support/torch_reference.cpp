// Running the PyTorch references (see torch_reference.h).
#include "tests/support/torch_reference.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "frontend/train/step_graphs.h"

namespace pg::reference {
namespace {

const char* kPython = "/usr/bin/python3";

}  // namespace

bool torch_available() {
    return std::system(fmt::format("{} -c 'import torch' >/dev/null 2>&1", kPython).c_str()) == 0;
}

io::TensorMap run_torch_script(const std::string& script, const std::filesystem::path& dir) {
    const std::string cmd = fmt::format("{} {}/tests/parity/{} {} {} {}", kPython, PG_SOURCE_DIR, script,
                                        (dir / "ref.json").string(), (dir / "ref_in.safetensors").string(),
                                        (dir / "ref_out.safetensors").string());
    REQUIRE(std::system(cmd.c_str()) == 0);
    return io::read_safetensors(dir / "ref_out.safetensors").tensors;
}

std::string model_json(const GptConfig& m) {
    return fmt::format(R"("vocab": {}, "layers": {}, "dim": {}, "heads": {}, "kv_heads": {}, "mlp_mult": {})",
                       m.vocab_size, m.num_layers, m.model_dim, m.num_heads, m.num_kv_heads,
                       static_cast<int>(m.mlp_mult));
}

HostTensor stream_tensor(std::span<const uint16_t> stream) {
    HostTensor s(DType::i32, {static_cast<int64_t>(stream.size())});
    for (size_t i = 0; i < stream.size(); ++i) s.set(static_cast<int64_t>(i), stream[i]);
    return s;
}

io::TensorMap weights_without_zeros(const GptConfig& model, int64_t seq) {
    io::TensorMap w = build_eval_graph(model, 1, seq).params->initialize(9);
    for (auto& [name, t] : w) {
        bool zero = true;
        for (int64_t i = 0; i < t.numel() && zero; ++i) zero = t.get(i) == 0;
        for (int64_t i = 0; zero && i < t.numel(); ++i) t.set(i, 0.05 * std::sin(1.0 + static_cast<double>(i)));
    }
    return w;
}

}  // namespace pg::reference
