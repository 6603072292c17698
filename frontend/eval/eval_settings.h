// Evaluation settings: EVAL_STRIDE (sliding-window stride, spec 2.4; 0 = only the baseline's
// non-overlapping windows) and EVAL_SEQ_LEN (window length; 0 = the training sequence length).
#pragma once
#include <cstdint>

namespace pg::eval {

int64_t eval_stride();                            // EVAL_STRIDE, >= 0
int64_t eval_seq_len(int64_t train_seq_len);      // EVAL_SEQ_LEN, or train_seq_len when it is 0

}  // namespace pg::eval
