// Quantize, compress, write and report (see export_model.h).
#include "frontend/export/export_model.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace pg::io {

ExportConfig export_config_from_settings() {
    ExportConfig c;
    c.plan = quant_plan_from_settings();
    c.compressors = compressor_choices_from_settings();
    c.pack_bits = pack_bits_from_settings();
    c.gptq = gptq_config_from_settings();
    return c;
}

ExportResult export_artifact(const TensorMap& weights, const ExportConfig& cfg, const HessianMap& hessians,
                             const std::filesystem::path& out) {
    ExportResult r;
    r.model = quantize_model(weights, cfg.plan);
    if (cfg.gptq.enabled) {
        PG_CHECK(!hessians.empty(), "GPTQ=1 but no Hessians were collected; calibrate first (see docs/export.md)");
        apply_gptq(r.model, weights, cfg.plan, hessians, cfg.gptq);
    }
    r.info = save_artifact(out, r.model, cfg.plan.canonical(), cfg.compressors, cfg.pack_bits);
    return r;
}

std::vector<TensorReport> tensor_reports(const TensorMap& weights, const ExportResult& result) {
    std::vector<TensorReport> rows;
    for (const auto& [name, qt] : result.model.tensors) {
        TensorReport t;
        t.name = name;
        t.tensor_class = std::string(tensor_class_name(classify_tensor(name)));
        t.format = qt.format_name();
        if (qt.scheme == QuantScheme::passthrough) t.format += "_" + std::string(dtype_name(qt.stored.dtype));
        t.numel = qt.numel();
        t.raw_bytes = t.numel * static_cast<int64_t>(dtype_size(qt.orig_dtype));
        t.payload_bytes = qt.payload_bytes();
        QuantizedModel one;
        one.tensors.emplace(name, qt);
        t.compressed_bytes = static_cast<int64_t>(compress(encode_quantized(one, result.info.pack_bits),
                                                           result.info.compressor).size());
        const HostTensor& w = weights.at(name);
        if (is_float(w.dtype) && t.numel > 0) {
            const std::vector<float> a = tensor_to_f32(w), b = tensor_to_f32(dequantize_tensor(qt).to(w.dtype));
            double num = 0, den = 0;
            for (size_t i = 0; i < a.size(); ++i) {
                num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
                den += static_cast<double>(a[i]) * a[i];
            }
            t.mse = num / static_cast<double>(t.numel);
            t.rel_error = den > 0 ? std::sqrt(num / den) : 0.0;
        }
        rows.push_back(std::move(t));
    }
    return rows;
}

std::string tried_line(const ArtifactInfo& info) {
    if (info.tried.size() < 2) return "";
    std::string s = "compressors tried:";
    for (size_t i = 0; i < info.tried.size(); ++i)
        s += fmt::format("{} {} {} bytes", i ? "," : "", info.tried[i].first.name(), info.tried[i].second);
    return s;
}

std::string cap_line(const std::string& what, int64_t artifact_bytes, int64_t code_bytes) {
    const int64_t total = artifact_bytes + code_bytes;
    return fmt::format("Total submission size {}: {} bytes ({} the {}-byte cap by {} bytes)", what, total,
                       total <= kSubmissionCapBytes ? "within" : "OVER", kSubmissionCapBytes,
                       std::llabs(kSubmissionCapBytes - total));
}

std::string format_report(const std::vector<TensorReport>& rows, const ArtifactInfo& info, int64_t code_bytes,
                          const std::string& what) {
    std::string s = fmt::format("{:<34} {:<8} {:<22} {:>10} {:>11} {:>11} {:>11} {:>9} {:>11}\n", "tensor", "class",
                                "format", "numel", "raw_bytes", "quant_bytes", "compressed", "rel_err", "mse");
    int64_t raw = 0, payload = 0, packed = 0;
    for (const TensorReport& t : rows) {
        s += fmt::format("{:<34} {:<8} {:<22} {:>10} {:>11} {:>11} {:>11} {:>9.5f} {:>11.4e}\n", t.name, t.tensor_class,
                         t.format, t.numel, t.raw_bytes, t.payload_bytes, t.compressed_bytes, t.rel_error, t.mse);
        raw += t.raw_bytes;
        payload += t.payload_bytes;
        packed += t.compressed_bytes;
    }
    s += fmt::format("{:<34} {:<8} {:<22} {:>10} {:>11} {:>11} {:>11}\n", "sum", "", "", "", raw, payload, packed);
    s += fmt::format("scheme: {}\ncodes: {}\ncompressor: {}\n", info.scheme, info.pack_bits ? "bit-packed" : "bytes",
                     info.compressor.name());
    if (const std::string t = tried_line(info); !t.empty()) s += t + "\n";
    s += fmt::format("artifact: {} bytes (container {} bytes)\ncode: {} bytes\n", info.compressed_bytes, info.raw_bytes,
                     code_bytes);
    s += cap_line(what, static_cast<int64_t>(info.compressed_bytes), code_bytes) + "\n";
    return s;
}

}  // namespace pg::io
