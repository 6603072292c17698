// submission.json, the record folder's metadata file (pgolf-spec §6: name, GitHub id, val_bpb,
// metadata), written beside the artifact: who submitted it, the round-trip score, and the bytes
// counted against the 16,000,000-byte cap (artifact + code), plus the quantization scheme and
// compressor that produced the artifact. The identity fields come from the SUBMISSION_* settings.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace pg::io {

inline constexpr std::string_view kSubmissionFileName = "submission.json";

struct SubmissionInfo {
    std::string name;       // SUBMISSION_NAME: the record's title
    std::string author;     // SUBMISSION_AUTHOR
    std::string github_id;  // SUBMISSION_GITHUB_ID
    std::string blurb;      // SUBMISSION_BLURB: one paragraph on what the run does
    std::string date;       // YYYY-MM-DD (UTC)
    double val_loss = 0;    // the round-trip score (nats per token)
    double val_bpb = 0;     // the round-trip score (bits per byte)
    int64_t bytes_model = 0;  // the artifact file
    int64_t bytes_code = 0;   // the counted code
    std::string quant_scheme; // QUANT in canonical form, e.g. "attn:int6,mlp:int5,emb:int8"
    std::string compressor;   // "zstd-22", "xz-9e", "brotli-11", ...

    int64_t bytes_total() const { return bytes_model + bytes_code; }
};

// The identity fields from the SUBMISSION_* settings and today's UTC date; the caller fills in the
// score and the sizes.
SubmissionInfo submission_from_settings();

// Today's date in UTC as YYYY-MM-DD.
std::string utc_date_today();

// The JSON text (keys in the order of SubmissionInfo, bytes_total included) and its atomic write.
std::string submission_json_text(const SubmissionInfo& info);
void write_submission_json(const std::filesystem::path& path, const SubmissionInfo& info);

// Reads a submission.json back (for `pgolf submission` and tests). Throws pg::Error naming the file
// for malformed JSON, a missing field or a field of the wrong type.
SubmissionInfo read_submission_json(const std::filesystem::path& path);

}  // namespace pg::io
