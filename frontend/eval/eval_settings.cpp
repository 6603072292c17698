// Declares EVAL_STRIDE and EVAL_SEQ_LEN (see eval_settings.h).
#include "frontend/eval/eval_settings.h"

#include "base/env.h"
#include "base/error.h"

namespace pg::eval {

PG_KNOB({.name = "EVAL_STRIDE", .kind = env::KnobKind::Int, .default_value = "64",
         .doc = "sliding-window evaluation stride in tokens (spec 2.4); 0 evaluates non-overlapping windows only"});
PG_KNOB({.name = "EVAL_SEQ_LEN", .kind = env::KnobKind::Int, .default_value = "0",
         .doc = "evaluation window length in tokens; 0 uses TRAIN_SEQ_LEN"});

int64_t eval_stride() {
    const int64_t stride = env::get_int("EVAL_STRIDE");
    PG_CHECK(stride >= 0, "EVAL_STRIDE={} must be 0 (off) or a positive number of tokens", stride);
    return stride;
}

int64_t eval_seq_len(int64_t train_seq_len) {
    const int64_t len = env::get_int("EVAL_SEQ_LEN");
    PG_CHECK(len >= 0, "EVAL_SEQ_LEN={} must be 0 (use TRAIN_SEQ_LEN) or a positive number of tokens", len);
    return len > 0 ? len : train_seq_len;
}

}  // namespace pg::eval
