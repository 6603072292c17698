// Document masking at BOS (ATTN_DOC_MASK, the records' VarLen attention) through the whole GPT:
// with the mask, the per-token losses of a document do not depend on the tokens of the document
// before it in the packed row; without it they do. Checked with the reference interpreter (the
// attention decompositions) and the CPU JIT (the flash-attention kernels, which the plan must use
// with the mask), plus nn::document_starts against a direct scan.
//
// The unchanged losses are compared exactly: a masked key contributes an exact 0 in the
// decomposition (exp of -1e30 below the row's max) and is never read by the flash kernels, and
// every other op of the model is per token, so nothing of the earlier document reaches them. The
// changed tokens move the other losses by O(1e-2) or more (measured and printed).
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "codegen/compile_plan.h"
#include "codegen/target.h"
#include "frontend/models/gpt.h"
#include "frontend/nn/token_mixing.h"
#include "graph/interpreter.h"
#include "runtime/cpu_executable.h"
#include "tests/support/variant_configs.h"

namespace pg {
namespace {

constexpr int64_t kB = 2, kT = 24, kBos = 1;
// Row 0: documents at 0, 9 and 17; row 1: a partial leading document [0, 6), then 6 and 15.
const std::vector<std::vector<int64_t>> kDocStarts = {{0, 9, 17}, {6, 15}};
// The tokens of the first document of each row, which the test changes; and where the next starts.
const int64_t kSecond[kB] = {9, 6};

bool is_bos(int64_t row, int64_t i) {
    for (int64_t at : kDocStarts[static_cast<size_t>(row)])
        if (at == i) return true;
    return false;
}

// ids [B, T]: BOS at the document starts, other tokens random in [2, vocab); with `changed`, the
// first document's non-BOS tokens drawn again.
HostTensor batch_ids(bool changed) {
    HostTensor ids(DType::i64, {kB, kT});
    std::mt19937_64 rng(5), other(6);
    for (int64_t r = 0; r < kB; ++r)
        for (int64_t i = 0; i < kT; ++i) {
            auto token = static_cast<double>(2 + rng() % (testing::kVocab - 2));
            if (changed && i < kSecond[r]) token = static_cast<double>(2 + other() % (testing::kVocab - 2));
            ids.set(r * kT + i, is_bos(r, i) ? kBos : token);
        }
    return ids;
}

// Every parameter random (matrices N(0, 1/fan_in), the rest 1 + N(0, 0.2)), so that no zero-init
// projection hides the attention.
std::map<std::string, HostTensor> random_weights(const ParamSet& ps) {
    std::mt19937_64 rng(11);
    std::map<std::string, HostTensor> w;
    for (const ParamSpec& p : ps.specs()) {
        HostTensor t(p.dtype, p.shape);
        bool matrix = p.shape.size() == 2 && p.group != "scalar";
        std::normal_distribution<double> d(0, matrix ? 1.0 / std::sqrt(static_cast<double>(p.shape[1])) : 0.2);
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, (matrix ? 0.0 : 1.0) + d(rng));
        w.emplace(p.name, std::move(t));
    }
    return w;
}

struct Model {
    Graph g;
    std::map<std::string, HostTensor> weights;
    HostTensor targets{DType::i64, {kB, kT}};
};

Model make_model(bool doc_mask) {
    Model m;
    GptConfig cfg = testing::small_config(2);
    cfg.variant.attn_doc_mask = doc_mask;
    ParamSet ps(m.g);
    Tensor ids = input(m.g, "ids", {kB, kT}, DType::i64);
    Tensor targets = input(m.g, "targets", {kB, kT}, DType::i64);
    m.g.set_output("losses", gpt_token_losses(ps, cfg, ids, targets).id());
    m.weights = random_weights(ps);
    std::mt19937_64 rng(7);
    for (int64_t i = 0; i < m.targets.numel(); ++i) m.targets.set(i, static_cast<double>(rng() % testing::kVocab));
    return m;
}

HostTensor interpreted(const Model& m, const HostTensor& ids) {
    Feeds feeds(m.weights.begin(), m.weights.end());
    feeds["ids"] = ids;
    feeds["targets"] = m.targets;
    return interpret_all(m.g, feeds).at(0);
}

HostTensor compiled(const Model& m, const HostTensor& ids) {
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, m.g);
    for (const auto& [name, w] : m.weights) exe.set(name, w);
    exe.set("ids", ids);
    exe.set("targets", m.targets);
    exe.run();
    return exe.get("losses");
}

// The largest change of a loss past the first document of its row, and of one inside it.
std::pair<double, double> loss_changes(const HostTensor& a, const HostTensor& b) {
    double later = 0, first = 0;
    for (int64_t r = 0; r < kB; ++r)
        for (int64_t i = 0; i < kT; ++i) {
            double d = std::abs(a.get(r * kT + i) - b.get(r * kT + i));
            (i < kSecond[r] ? first : later) = std::max(i < kSecond[r] ? first : later, d);
        }
    return {later, first};
}

}  // namespace

TEST_CASE("doc mask: document_starts is the last BOS at or before each token, 0 before the first") {
    Graph g;
    Tensor ids = input(g, "ids", {kB, kT}, DType::i64);
    g.set_output("starts", nn::document_starts(ids, kBos).id());
    HostTensor got = interpret_all(g, {{"ids", batch_ids(false)}}).at(0);
    CHECK(got.dtype == DType::i32);
    for (int64_t r = 0; r < kB; ++r) {
        int64_t start = 0;
        for (int64_t i = 0; i < kT; ++i) {
            start = is_bos(r, i) ? i : start;
            CHECK(got.get(r * kT + i) == static_cast<double>(start));
        }
    }
}

TEST_CASE("doc mask: the losses of a document do not depend on the document before it") {
    const HostTensor ids = batch_ids(false), changed = batch_ids(true);
    Model masked = make_model(true), plain = make_model(false);
    ExecPlan plan = compile_plan(masked.g, cpu_target());
    REQUIRE(plan.count(PlanStep::Kind::Attention) > 0);
    for (const PlanStep& st : plan.steps)
        if (st.attention) CHECK(st.attention->doc_mask);
    for (bool jit : {false, true}) {
        INFO(std::string(jit ? "CPU JIT (flash kernels)" : "interpreter"));
        auto run = [&](const Model& m, const HostTensor& x) { return jit ? compiled(m, x) : interpreted(m, x); };
        auto [later, first] = loss_changes(run(masked, ids), run(masked, changed));
        auto [plain_later, plain_first] = loss_changes(run(plain, ids), run(plain, changed));
        MESSAGE("masked: later documents ", later, ", first ", first, "; unmasked: later ", plain_later);
        CHECK(later == 0.0);
        CHECK(first > 1e-2);
        CHECK(plain_later > 1e-2);  // without the mask the later documents see the change
    }
}

}  // namespace pg
