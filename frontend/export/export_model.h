// The one export path of `pgolf export` and the trainer's end of run: quantize a model's weights
// by the QUANT plan (with GPTQ where Hessians are given), write the artifact with the COMPRESSOR
// choice (the smallest when several), and describe the result: the per-tensor table of raw,
// quantized and compressed bytes and reconstruction error, and the artifact + code bytes against
// the 16,000,000-byte cap.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "frontend/export/artifact.h"
#include "frontend/export/gptq.h"

namespace pg::io {

// The challenge's cap on artifact + code bytes (pgolf-spec §6, decimal).
inline constexpr int64_t kSubmissionCapBytes = 16'000'000;

struct ExportConfig {
    QuantPlan plan;
    std::vector<Compressor> compressors{Compressor{}};
    bool pack_bits = false;
    GptqConfig gptq;

    std::string label() const { return (gptq.enabled ? "gptq_" : "") + plan.label(); }
};

// QUANT, COMPRESSOR, QUANT_PACK and the GPTQ settings.
ExportConfig export_config_from_settings();

struct ExportResult {
    QuantizedModel model;
    ArtifactInfo info;
};

// Quantizes `weights` (model parameters) and writes the artifact to `out` atomically. `hessians`
// is used when cfg.gptq.enabled (an empty map then is an error: nothing was calibrated).
ExportResult export_artifact(const TensorMap& weights, const ExportConfig& cfg, const HessianMap& hessians,
                             const std::filesystem::path& out);

// One row of the report.
struct TensorReport {
    std::string name, tensor_class, format;
    int64_t numel = 0;
    int64_t raw_bytes = 0;         // in the checkpoint's dtype
    int64_t payload_bytes = 0;     // scales + codes (at their bit width), or the stored tensor
    int64_t compressed_bytes = 0;  // the tensor's record compressed alone with the artifact's compressor
    double rel_error = 0;          // ‖W − Ŵ‖_F / ‖W‖_F
    double mse = 0;                // mean (W − Ŵ)²
};

std::vector<TensorReport> tensor_reports(const TensorMap& weights, const ExportResult& result);

// The table and the totals, as `pgolf export --report` prints them; `what` names the artifact in
// the cap line ("mixed+zstd").
std::string format_report(const std::vector<TensorReport>& rows, const ArtifactInfo& info, int64_t code_bytes,
                          const std::string& what);

// "compressors tried: zstd-22 123 bytes, xz-9e 120 bytes, ..." (one line), or "" for one compressor.
std::string tried_line(const ArtifactInfo& info);

// "Total submission size ...: N bytes (within|OVER the 16000000-byte cap)".
std::string cap_line(const std::string& what, int64_t artifact_bytes, int64_t code_bytes);

}  // namespace pg::io
