// The baseline trainer (train_gpt.py's loop, pgolf-spec §3.4–3.6): data from DATA_PATH shards,
// the training step graph compiled once and replayed, warm-up steps then restore of weights and
// optimizer state, the wallclock-based warmdown, Muon momentum warm-up, periodic validation,
// the wallclock cap, and the baseline's log lines. Then the final checkpoint, the int8 + zstd
// artifact and its round-trip evaluation (see finish_run).
//
// Faults end a run cleanly instead of losing it: a non-finite loss or gradient stops it before the
// update with the last good state checkpointed (PG_NAN_CHECK, nan_guard.h); SIGINT/SIGTERM stop
// it after the current step with a checkpoint (stop_signals.h); RESUME_FROM=auto continues from
// the newest valid checkpoint in RUN_DIR (resume.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "frontend/train/hyperparams.h"
#include "frontend/train/schedule.h"
#include "graph/tensor_data.h"

namespace pg {

enum class TrainStop { Completed, NonFinite, Signal };

struct TrainResult {
    int64_t steps = 0;
    std::vector<double> losses;  // the training loss of every step this run took, in order
    TrainStop stop = TrainStop::Completed;
    int stop_signal = 0;          // TrainStop::Signal: SIGINT or SIGTERM
    std::string stop_message;     // the line a stopped run ends with
    std::string stop_checkpoint;  // the checkpoint a stopped run left ("" if none)
    double train_ms = 0;
    double val_loss = 0, val_bpb = 0;  // last validation, before export
    std::map<std::string, HostTensor> state;  // params and optimizer state at the end
    double roundtrip_val_loss = 0, roundtrip_val_bpb = 0;  // the int8+zstd artifact, read back
    int64_t artifact_bytes = 0;
    std::string run_dir;
};

// Runs training as configured; prints and logs as it goes.
TrainResult train(const Hyperparams& h);


}  // namespace pg
