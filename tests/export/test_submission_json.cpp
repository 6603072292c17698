// submission.json: the challenge's fields written atomically and read back; Python's json module
// (the oracle for "valid JSON with these keys and types") reads the same values; bytes_total is
// model + code; malformed files and missing or mistyped fields are errors naming the file.
#include <doctest/doctest.h>

#include "base/env.h"
#include "frontend/export/submission_json.h"
#include "tests/export/export_test_util.h"
#include "tests/support/skip.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

SubmissionInfo sample_submission() {
    env::ScopedOverride name("SUBMISSION_NAME", "Int6 MLP3x \"quoted\"");
    env::ScopedOverride author("SUBMISSION_AUTHOR", "A. Golfer");
    env::ScopedOverride id("SUBMISSION_GITHUB_ID", "agolfer");
    SubmissionInfo s = submission_from_settings();
    s.val_loss = 2.07269931;
    s.val_bpb = 1.2243657;
    s.bytes_model = 15'815'847;
    s.bytes_code = 47'642;
    s.quant_scheme = "attn:int6,mlp:int5,emb:int8";
    s.compressor = "zstd-22";
    return s;
}

}  // namespace

TEST_CASE("export: submission.json round trip and field values") {
    TempDir dir;
    const SubmissionInfo s = sample_submission();
    CHECK(s.name == "Int6 MLP3x \"quoted\"");
    CHECK(s.date.size() == 10);
    CHECK(s.bytes_total() == 15'863'489);  // the baseline record's total (spec §3.8)
    write_submission_json(dir / "submission.json", s);
    const SubmissionInfo back = read_submission_json(dir / "submission.json");
    CHECK(back.name == s.name);
    CHECK(back.github_id == "agolfer");
    CHECK(back.val_bpb == s.val_bpb);
    CHECK(back.val_loss == s.val_loss);
    CHECK(back.bytes_model == s.bytes_model);
    CHECK(back.quant_scheme == s.quant_scheme);
    if (!python_has("json")) PG_SKIP(kPython << " is not available for the independent JSON check");
    const std::string script =
        "import json,sys; j=json.load(open(sys.argv[1])); "
        "assert j['bytes_total']==j['bytes_model']+j['bytes_code']==15863489; "
        "assert j['val_bpb']==1.2243657 and j['author']=='A. Golfer' and j['compressor']=='zstd-22'; "
        "assert set(j)=={'name','author','github_id','date','val_loss','val_bpb','bytes_total','bytes_code',"
        "'bytes_model','blurb','quant_scheme','compressor'}";
    const CommandResult r = run_command(std::string(kPython) + " -c \"" + script + "\" " +
                                        (dir / "submission.json").string());
    CHECK_MESSAGE(r.status == 0, r.output);
}

TEST_CASE("export: a malformed submission.json names the file and the field") {
    TempDir dir;
    const auto path = dir / "submission.json";
    write_raw(path, "{\"name\": ");
    CHECK(error_of([&] { read_submission_json(path); }).find("is not valid JSON") != std::string::npos);
    write_raw(path, "{\"name\": \"x\"}");
    CHECK(error_of([&] { read_submission_json(path); }).find("has no \"author\" field") != std::string::npos);
    std::string text = submission_json_text(sample_submission());
    text.replace(text.find("\"zstd-22\""), 9, "22");
    write_raw(path, text);
    CHECK(error_of([&] { read_submission_json(path); }).find("field \"compressor\" has the wrong type") !=
          std::string::npos);
}
