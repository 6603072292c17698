// Parallel Muon's three graph parts (frontend/optim/muon_bank.h) on 2 simulated ranks, evaluated
// by the reference interpreter with the collectives done by hand (the mean of the ranks' stacked
// gradients split into blocks; the ranks' update shards concatenated), against the oracle: plain
// Muon (muon_update) of the mean gradient. A bank of two 4x3 matrices (one per rank) and a bank
// of one 3x5 matrix (padded: rank 1's slot is a zero matrix) cover the stacking, the padding, the
// role-major order, the momentum shards and the slot each member's update is read from.
// Both sides run the same ops on the same f32 inputs (the mean is formed in fp64 and rounded to
// f32 on both), so they agree exactly; the bound 1e-6 only absorbs a different fp64 summation
// order of a reduction should the interpreter change, far below a wrong slot or a missed
// momentum (differences of order 1e-2 here).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "frontend/optim/muon_bank.h"
#include "graph/interpreter.h"

namespace pg {
namespace {

const std::vector<ParamSpec> kSpecs = {
    {"l0.q", {4, 3}, DType::f32, {}, "matrix"}, {"l0.up", {3, 5}, DType::f32, {}, "matrix"},
    {"l1.q", {4, 3}, DType::f32, {}, "matrix"}};
const MuonConfig kMuon{};  // 5 bf16 iterations of the baseline's coefficients

HostTensor random_tensor(const Shape& shape, std::mt19937& rng) {
    std::normal_distribution<double> d(0, 1);
    std::vector<double> v(static_cast<size_t>(numel(shape)));
    for (double& x : v) x = d(rng);
    return HostTensor::from_doubles(DType::f32, shape, v);
}

HostTensor scalar(double v) { return HostTensor::from_doubles(DType::f32, {}, {v}); }

// The value stored into `state` by the graph's updates, as interpret_all computes them.
HostTensor stored(const Graph& g, const std::vector<HostTensor>& values, const std::string& state) {
    for (size_t i = 0; i < g.updates().size(); ++i)
        if (g[g.updates()[i].state].name == state) return values[g.outputs().size() + i];
    FAIL("no update of " << state);
    return {};
}

// Rows [first, first + count) of dim 0, or zeros past the end (padding).
std::vector<double> block(const HostTensor& t, int64_t first, int64_t count) {
    const int64_t row = numel(t.shape) / t.shape[0];
    std::vector<double> out;
    for (int64_t i = first * row; i < (first + count) * row; ++i) out.push_back(i < numel(t.shape) ? t.get(i) : 0.0);
    return out;
}

double max_difference(const HostTensor& a, const HostTensor& b) {
    REQUIRE(numel(a.shape) == numel(b.shape));
    double m = 0;
    for (int64_t i = 0; i < numel(a.shape); ++i) m = std::max(m, std::abs(a.get(i) - b.get(i)));
    return m;
}

}  // namespace

TEST_CASE("parallel Muon on 2 simulated ranks gives Muon of the mean gradient") {
    std::mt19937 rng(7);
    std::map<std::string, HostTensor> weight, momentum, mean_grad;
    std::vector<std::map<std::string, HostTensor>> grad(2);
    for (const ParamSpec& p : kSpecs) {
        weight[p.name] = random_tensor(p.shape, rng);
        momentum[p.name] = random_tensor(p.shape, rng);
        for (auto& g : grad) g[p.name] = random_tensor(p.shape, rng);
        std::vector<double> mean;
        for (int64_t i = 0; i < numel(p.shape); ++i) mean.push_back((grad[0][p.name].get(i) + grad[1][p.name].get(i)) / 2);
        mean_grad[p.name] = HostTensor::from_doubles(DType::f32, p.shape, mean);
    }
    const double lr = 0.05, mu = 0.9;

    // The oracle: Muon of the mean gradient.
    Graph og;
    ParamSet ops(og);
    std::vector<std::string> names;
    std::vector<Tensor> grads;
    Feeds of{{"lr.matrix", scalar(lr)}, {"muon_momentum", scalar(mu)}};
    for (const ParamSpec& p : kSpecs) {
        ops.add(p.name, p.shape, Init::zeros(), "matrix");
        names.push_back(p.name);
        grads.push_back(input(og, "g." + p.name, p.shape, DType::f32));
        of[p.name] = weight[p.name];
        of[muon_momentum_name(p.name)] = momentum[p.name];
        of["g." + p.name] = mean_grad[p.name];
    }
    muon_update(ops, names, grads, "lr.matrix", kMuon);
    const std::vector<HostTensor> oracle = interpret_all(og, of);

    const std::vector<MuonBank> banks = muon_banks(kSpecs, 2);
    REQUIRE(banks.size() == 2);
    std::map<std::string, std::vector<double>> gathered;  // bank key -> the ranks' update shards, concatenated
    for (int rank = 0; rank < 2; ++rank) {
        Graph sg;
        ParamSet sps(sg);
        Feeds sf{{"muon_momentum", scalar(mu)}};
        for (const MuonBank& b : banks) {
            // The reduce-scatter by hand: each rank's stacked gradient, averaged, block `rank`.
            std::vector<std::vector<double>> stacked(2);
            for (int r = 0; r < 2; ++r) {
                Graph mg;
                ParamSet mps(mg);
                std::vector<Tensor> members;
                Feeds mf;
                for (const std::string& name : b.params) {
                    members.push_back(input(mg, "g." + name, {b.rows, b.cols}, DType::f32));
                    mf["g." + name] = grad[r][name];
                }
                scatter_bank_gradients(mps, b, members);
                stacked[r] = block(stored(mg, interpret_all(mg, mf), bank_grad_shard_name(b)), 0, b.padded);
            }
            const int64_t matrix = b.rows * b.cols;
            std::vector<double> shard, moment;
            for (int64_t i = rank * b.per_rank() * matrix; i < (rank + 1) * b.per_rank() * matrix; ++i)
                shard.push_back((stacked[0][static_cast<size_t>(i)] + stacked[1][static_cast<size_t>(i)]) / 2);
            for (int64_t j = rank * b.per_rank(); j < (rank + 1) * b.per_rank(); ++j) {
                std::vector<double> m = j < static_cast<int64_t>(b.params.size()) ? block(momentum[b.params[j]], 0, b.rows)
                                                                                     : std::vector<double>(matrix, 0.0);
                moment.insert(moment.end(), m.begin(), m.end());
            }
            const Shape shard_shape = {b.per_rank(), b.rows, b.cols};
            sf[bank_grad_shard_name(b)] = HostTensor::from_doubles(DType::f32, shard_shape, shard);
            sf[bank_momentum_name(b, rank)] = HostTensor::from_doubles(DType::f32, shard_shape, moment);
            orthogonalize_bank_shard(sps, b, rank, kMuon);
        }
        const std::vector<HostTensor> shard_values = interpret_all(sg, sf);
        for (const MuonBank& b : banks) {
            const HostTensor u = stored(sg, shard_values, bank_update_name(b));
            std::vector<double> v = block(u, 0, b.per_rank());
            gathered[b.key].insert(gathered[b.key].end(), v.begin(), v.end());
            // This rank's momentum shard is the oracle's momentum of the members in its slots.
            const HostTensor m = stored(sg, shard_values, bank_momentum_name(b, rank));
            for (int64_t j = 0; j < b.per_rank(); ++j) {
                const int64_t slot = rank * b.per_rank() + j;
                if (slot >= static_cast<int64_t>(b.params.size())) continue;
                const HostTensor want = stored(og, oracle, muon_momentum_name(b.params[slot]));
                std::vector<double> got = block(m, j, 1);
                for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want.get(static_cast<int64_t>(i))) <= 1e-6);
            }
        }
    }

    // The all-gathered updates applied on one rank.
    Graph ag;
    ParamSet aps(ag);
    Feeds af{{"lr.matrix", scalar(lr)}};
    for (const ParamSpec& p : kSpecs) {
        aps.add(p.name, p.shape, Init::zeros(), "matrix");
        af[p.name] = weight[p.name];
    }
    for (const MuonBank& b : banks) {
        apply_bank_updates(aps, b, "lr.matrix", kMuon);
        af[bank_update_name(b)] = HostTensor::from_doubles(kMuon.ns_dtype, {b.padded, b.rows, b.cols}, gathered[b.key]);
    }
    const std::vector<HostTensor> applied = interpret_all(ag, af);
    for (const ParamSpec& p : kSpecs) {
        INFO(p.name);
        CHECK(max_difference(stored(ag, applied, p.name), stored(og, oracle, p.name)) <= 1e-6);
        CHECK(max_difference(stored(ag, applied, p.name), weight[p.name]) > 1e-3);  // the step moved it
    }
}

}  // namespace pg
