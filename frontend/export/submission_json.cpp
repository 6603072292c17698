// submission.json writing and reading with nlohmann-json (see submission_json.h).
#include "frontend/export/submission_json.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/env.h"
#include "base/error.h"
#include "frontend/export/file_bytes.h"

namespace pg::io {

namespace {

using Json = nlohmann::ordered_json;
using env::KnobKind;

PG_KNOB({.name = "SUBMISSION_NAME", .kind = KnobKind::String, .default_value = "pgolf run",
         .doc = "submission.json: the record's name"});
PG_KNOB({.name = "SUBMISSION_AUTHOR", .kind = KnobKind::String, .default_value = "",
         .doc = "submission.json: the author's name"});
PG_KNOB({.name = "SUBMISSION_GITHUB_ID", .kind = KnobKind::String, .default_value = "",
         .doc = "submission.json: the author's GitHub id"});
PG_KNOB({.name = "SUBMISSION_BLURB", .kind = KnobKind::String, .default_value = "",
         .doc = "submission.json: one paragraph describing the run"});

template <typename T>
T field(const Json& j, const char* key, const std::filesystem::path& path) {
    PG_CHECK(j.contains(key), "{} has no \"{}\" field; write it with `pgolf train` or `pgolf export`", path.string(),
             key);
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: field \"{}\" has the wrong type ({})", path.string(), key, j.at(key).dump()));
    }
}

}  // namespace

std::string utc_date_today() {
    const auto days = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    const std::chrono::year_month_day ymd{days};
    return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()));
}

SubmissionInfo submission_from_settings() {
    SubmissionInfo s;
    s.name = env::get("SUBMISSION_NAME");
    s.author = env::get("SUBMISSION_AUTHOR");
    s.github_id = env::get("SUBMISSION_GITHUB_ID");
    s.blurb = env::get("SUBMISSION_BLURB");
    s.date = utc_date_today();
    return s;
}

std::string submission_json_text(const SubmissionInfo& s) {
    Json j;
    j["name"] = s.name;
    j["author"] = s.author;
    j["github_id"] = s.github_id;
    j["date"] = s.date;
    j["val_loss"] = s.val_loss;
    j["val_bpb"] = s.val_bpb;
    j["bytes_total"] = s.bytes_total();
    j["bytes_code"] = s.bytes_code;
    j["bytes_model"] = s.bytes_model;
    j["blurb"] = s.blurb;
    j["quant_scheme"] = s.quant_scheme;
    j["compressor"] = s.compressor;
    return j.dump(2) + "\n";
}

void write_submission_json(const std::filesystem::path& path, const SubmissionInfo& info) {
    write_file_atomically(path, submission_json_text(info));
}

SubmissionInfo read_submission_json(const std::filesystem::path& path) {
    Json j;
    try {
        j = Json::parse(read_file_bytes(path));
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", path.string(), e.what()));
    }
    PG_CHECK(j.is_object(), "{} is not a JSON object", path.string());
    SubmissionInfo s;
    s.name = field<std::string>(j, "name", path);
    s.author = field<std::string>(j, "author", path);
    s.github_id = field<std::string>(j, "github_id", path);
    s.date = field<std::string>(j, "date", path);
    s.val_loss = field<double>(j, "val_loss", path);
    s.val_bpb = field<double>(j, "val_bpb", path);
    s.bytes_code = field<int64_t>(j, "bytes_code", path);
    s.bytes_model = field<int64_t>(j, "bytes_model", path);
    s.blurb = field<std::string>(j, "blurb", path);
    s.quant_scheme = field<std::string>(j, "quant_scheme", path);
    s.compressor = field<std::string>(j, "compressor", path);
    PG_CHECK(field<int64_t>(j, "bytes_total", path) == s.bytes_total(),
             "{}: bytes_total {} is not bytes_model + bytes_code = {}", path.string(),
             field<int64_t>(j, "bytes_total", path), s.bytes_total());
    return s;
}

}  // namespace pg::io
