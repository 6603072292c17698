// Parallel Muon's banks and their graph parts (see muon_bank.h).
#include "frontend/optim/muon_bank.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "base/error.h"

namespace pg {
namespace {

// A member's role: its name with the layer numbers taken out ("blocks.#.attn.q.weight").
std::string role_of(const std::string& name) {
    std::string role;
    for (size_t i = 0; i < name.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(name[i]))) {
            role += name[i];
        } else if (role.empty() || role.back() != '#') {
            role += '#';
        }
    }
    return role;
}

// Role-major order (every layer's Q before every layer's O), roles in order of first appearance.
void order_members(std::vector<std::string>& members) {
    std::map<std::string, size_t> first;
    for (const std::string& m : members) first.emplace(role_of(m), first.size());
    std::stable_sort(members.begin(), members.end(),
                     [&](const std::string& a, const std::string& b) { return first[role_of(a)] < first[role_of(b)]; });
}

Tensor matrix_slot(const Tensor& bank, int64_t j, int64_t rows, int64_t cols) {
    return bank.slice(0, j, j + 1).reshape({rows, cols});
}

}  // namespace

std::vector<MuonBank> muon_banks(const std::vector<ParamSpec>& params, int world) {
    PG_CHECK(world >= 1, "parallel Muon needs a world size of at least 1, got {}", world);
    std::vector<MuonBank> banks;
    for (const ParamSpec& p : params) {
        PG_CHECK(p.shape.size() == 2, "Muon param '{}' must be a matrix, got {}", p.name, shape_str(p.shape));
        const std::string key = fmt::format("{}x{}", p.shape[0], p.shape[1]);
        auto it = std::find_if(banks.begin(), banks.end(), [&](const MuonBank& b) { return b.key == key; });
        if (it == banks.end()) it = banks.insert(banks.end(), MuonBank{key, p.shape[0], p.shape[1], {}, 0, world});
        it->params.push_back(p.name);
    }
    for (MuonBank& b : banks) {
        order_members(b.params);
        const auto n = static_cast<int64_t>(b.params.size());
        b.padded = (n + world - 1) / world * world;  // the records: 22 -> 24 and 11 -> 16 on 8 ranks
    }
    std::stable_sort(banks.begin(), banks.end(), [](const MuonBank& a, const MuonBank& b) {
        return a.padded * a.rows * a.cols > b.padded * b.rows * b.cols;
    });
    return banks;
}

std::string bank_grad_shard_name(const MuonBank& b) { return "muon_bank." + b.key + ".grad_shard"; }
std::string bank_update_name(const MuonBank& b) { return "muon_bank." + b.key + ".update"; }
std::string bank_momentum_name(const MuonBank& b, int rank) {
    return fmt::format("muon_bank.{}.rank{}{}", b.key, rank, muon_momentum_name(""));
}
bool is_rank_shard(const std::string& name) {
    return name.starts_with("muon_bank.") && name.ends_with(muon_momentum_name(""));
}

void scatter_bank_gradients(ParamSet& ps, const MuonBank& b, const std::vector<Tensor>& grads) {
    PG_ASSERT(grads.size() == b.params.size());
    Graph& g = ps.graph();
    std::vector<NodeId> parts;
    for (const Tensor& gr : grads) parts.push_back(gr.cast(DType::f32).reshape({1, b.rows, b.cols}).id());
    const int64_t pad = b.padded - static_cast<int64_t>(grads.size());
    if (pad > 0) parts.push_back(build::constant(g, 0.0, {pad, b.rows, b.cols}));
    NodeId stacked = parts.size() == 1 ? parts[0] : build::concat(g, parts, 0);
    Tensor shard = ps.add(bank_grad_shard_name(b), {b.per_rank(), b.rows, b.cols}, Init::zeros(), "gradacc");
    g.add_update(shard.id(), stacked, UpdateCollective::ReduceScatterAvg);
}

void orthogonalize_bank_shard(ParamSet& ps, const MuonBank& b, int rank, const MuonConfig& cfg) {
    Graph& g = ps.graph();
    const Shape shard_shape = {b.per_rank(), b.rows, b.cols};
    Tensor grad = ps.add(bank_grad_shard_name(b), shard_shape, Init::zeros(), "gradacc");
    Tensor buf = ps.add(bank_momentum_name(b, rank), shard_shape, Init::zeros(), "state");
    Tensor mu = runtime_scalar(g, "muon_momentum");
    Tensor buf_new = mu * buf + grad;
    Tensor u = grad + mu * buf_new;  // Nesterov, as muon_update
    std::vector<NodeId> parts;
    // Every rank runs Newton-Schulz on all its slots, padding included (zeros stay zeros), so that
    // the ranks' shard graphs are the same graph and issue their all-gathers in one order.
    for (int64_t j = 0; j < b.per_rank(); ++j)
        parts.push_back(muon_orthogonalize(matrix_slot(u, j, b.rows, b.cols), cfg)
                            .cast(cfg.ns_dtype)  // exact: the values are ns_dtype values
                            .reshape({1, b.rows, b.cols})
                            .id());
    NodeId updates = parts.size() == 1 ? parts[0] : build::concat(g, parts, 0);
    Tensor gathered = ps.add(bank_update_name(b), {b.padded, b.rows, b.cols}, Init::zeros(), "gradacc", cfg.ns_dtype);
    g.add_update(buf.id(), buf_new.id());
    g.add_update(gathered.id(), updates, UpdateCollective::AllGather);
}

void apply_bank_updates(ParamSet& ps, const MuonBank& b, const std::string& lr_scalar, const MuonConfig& cfg) {
    Tensor lr = runtime_scalar(ps.graph(), lr_scalar);
    Tensor gathered = ps.add(bank_update_name(b), {b.padded, b.rows, b.cols}, Init::zeros(), "gradacc", cfg.ns_dtype);
    for (size_t j = 0; j < b.params.size(); ++j)
        muon_apply(ps, b.params[j], matrix_slot(gathered, static_cast<int64_t>(j), b.rows, b.cols).cast(DType::f32), lr,
                   cfg);
}

}  // namespace pg
