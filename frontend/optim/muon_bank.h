// Parallel Muon as the records do it (pgolf-spec §4.3 "Parameter banking + Parallel Muon", PR #399
// on; the issue calls it §4.4's systems technique): the block matrices of one shape form a bank
// (the records' qo_bank, kv_bank, mlp_up_bank, mlp_down_bank), padded with zero matrices to a
// multiple of the world size W. Per step the bank's gradient [P, rows, cols] is reduce-scattered
// (mean) along dim 0, so rank r holds matrices [r·P/W, (r+1)·P/W) of it; each rank runs Nesterov
// momentum (its own shard of the momentum: never replicated, never all-gathered) and
// Newton-Schulz on its share only, all-gathers the orthogonalised updates in the Newton-Schulz
// dtype, and every rank applies the whole bank's updates to its replica. Other params keep the
// gradient all-reduce.
//
// The three parts live in three graphs of the training step (step_graphs.h): the last
// micro-step stacks each bank's gradients into the reduce-scatter (ReduceScatterAvg update of the
// bank's "grad_shard"); the shard graph runs momentum and Newton-Schulz and all-gathers
// (AllGather update of the bank's "update"); the optimizer graph applies them beside Adam, so the
// weight averaging (EMA, SWA) sees every new weight as before.
//
// Our params stay separate tensors (checkpoints and export are unchanged); a bank is the stacking
// of its members' gradients. Members go role-major as in the records' banks (every layer's Q, then
// every layer's O in the d×d bank), so rank r's share is the records' share.
#pragma once
#include <string>
#include <vector>

#include "frontend/module.h"
#include "frontend/optim/muon.h"

namespace pg {

struct MuonBank {
    std::string key;                  // "64x32": the member shape
    int64_t rows = 0, cols = 0;
    std::vector<std::string> params;  // the members, in bank order
    int64_t padded = 0;               // members rounded up to a multiple of the world size
    int world = 1;
    int64_t per_rank() const { return padded / world; }
};

// The banks of the matrices `params` (each [rows, cols]) over `world` ranks, the largest first
// (as the records, so the biggest all-gather leaves first).
std::vector<MuonBank> muon_banks(const std::vector<ParamSpec>& params, int world);

// The state of a bank: this rank's share of the averaged gradient (f32, [per_rank, rows, cols]),
// the all-gathered updates ([padded, rows, cols] in the Newton-Schulz dtype), and rank `rank`'s
// momentum shard ("muon_bank.64x32.rank1.momentum_buffer"), whose name carries the rank: a
// checkpoint written by rank 0 holds rank 0's shard only, so a resume of several ranks fails by
// name instead of using it on every rank; the suffix is Muon's, so export and evaluation know it
// for optimizer state.
std::string bank_grad_shard_name(const MuonBank& b);
std::string bank_update_name(const MuonBank& b);
std::string bank_momentum_name(const MuonBank& b, int rank);
// Whether a state tensor's value differs by rank by design (a momentum shard).
bool is_rank_shard(const std::string& name);

// The last micro-step: stores the bank's members' local gradients `grads` (f32, the members'
// order), stacked and padded, into the reduce-scatter of its grad_shard.
void scatter_bank_gradients(ParamSet& ps, const MuonBank& b, const std::vector<Tensor>& grads);

// The shard graph: Nesterov momentum and Newton-Schulz on this rank's matrices of the bank, the
// results all-gathered into the bank's update.
void orthogonalize_bank_shard(ParamSet& ps, const MuonBank& b, int rank, const MuonConfig& cfg);

// The optimizer graph: every member's Muon step from its slot of the gathered update.
void apply_bank_updates(ParamSet& ps, const MuonBank& b, const std::string& lr_scalar, const MuonConfig& cfg);

}  // namespace pg
