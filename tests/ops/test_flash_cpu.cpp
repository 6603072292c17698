// Tests of the CPU flash attention (ops/attention/flash_cpu.h) against the fp64 reference
// interpreter, which evaluates Attention, AttentionLse and AttentionGrad through their reference
// decompositions (whole [T, T] scores). Shapes are ragged against the blocks (T not a multiple of
// either block, query and key blocks of different sizes, odd head dims), with GQA groups of 1, 2
// and 3, so rows whose key block is partly or wholly in the future occur in every pass.
//
// With document masking (doc_start, the last operand) the same comparison runs on rows holding
// several ragged documents (lengths 1 to 21, a partial leading one, boundaries inside and at the
// edges of blocks), so key blocks wholly outside a row block's documents are skipped.
//
// Tolerance: normwise relative 2e-6. The passes run in f32: a score is a D-term dot product, each
// output or gradient element a sum of up to T products of O(1) terms, and the online softmax
// rescales the accumulator once per key block; with D <= 16 and T <= 40 the rounding errors
// (2^-24 = 6e-8 each) mostly cancel in the normwise measure, and dS = P * (dP - delta) can lose a
// digit where delta is close to dP. Measured worst 3.5e-7 (dk, the 40 x 16 case): 2e-6 leaves a
// margin of about 6x while a wrong mask or block edge (errors of O(1)) fails by far.
#include <doctest/doctest.h>

#include <random>

#include "graph/build.h"
#include "graph/interpreter.h"
#include "ops/attention/flash_cpu.h"

using namespace pg;
namespace b = pg::build;

namespace {

constexpr double kTol = 2e-6;

struct FlashCase {
    int64_t b, h, hkv, t, d;
    attn::CpuBlocks blocks;
    std::vector<std::vector<int64_t>> bos;  // per batch row, the BOS positions (empty: no masking)
};

// doc_start [B, T] i32 of the case: the last BOS at or before each position, 0 before the first.
HostTensor doc_starts(const FlashCase& c) {
    HostTensor d(DType::i32, {c.b, c.t});
    for (int64_t r = 0; r < c.b; ++r) {
        int64_t start = 0;
        for (int64_t i = 0; i < c.t; ++i) {
            for (int64_t at : c.bos[static_cast<size_t>(r)]) start = at == i ? i : start;
            d.set(r * c.t + i, static_cast<double>(start));
        }
    }
    return d;
}

HostTensor random_tensor(const Shape& s, uint64_t seed) {
    std::mt19937_64 r(seed);
    std::uniform_real_distribution<double> u(-1.5, 1.5);
    std::vector<double> v(static_cast<size_t>(numel(s)));
    for (double& x : v) x = u(r);
    return HostTensor::from_doubles(DType::f32, s, v);
}

// The reference values of one case: out, lse, delta, dq, dk, dv, from the interpreter.
struct Reference {
    Feeds feeds;
    std::vector<HostTensor> values;  // out, lse, delta, dq, dk, dv
};

Reference reference(const FlashCase& c, double scale) {
    Graph g;
    Shape qs{c.b, c.h, c.t, c.d}, ks{c.b, c.hkv, c.t, c.d};
    Reference ref;
    ref.feeds = {{"q", random_tensor(qs, 1)}, {"k", random_tensor(ks, 2)}, {"v", random_tensor(ks, 3)},
                 {"dout", random_tensor(qs, 4)}};
    NodeId q = b::input(g, "q", qs, DType::f32), k = b::input(g, "k", ks, DType::f32);
    NodeId v = b::input(g, "v", ks, DType::f32), dout = b::input(g, "dout", qs, DType::f32);
    NodeId docs = kNoNode;
    if (!c.bos.empty()) {
        ref.feeds["docs"] = doc_starts(c);
        docs = b::input(g, "docs", {c.b, c.t}, DType::i32);
    }
    NodeId out = b::attention(g, q, k, v, scale, docs);
    NodeId lse = b::attention_lse(g, q, k, v, scale, docs);
    NodeId delta = b::reshape(g, b::sum(g, b::mul(g, dout, out), {-1}), {c.b, c.h, c.t});
    std::vector<NodeId> ops = {q, k, v, dout, lse, delta};
    if (docs != kNoNode) ops.push_back(docs);
    std::vector<NodeId> want = {out, lse, delta};
    for (int64_t which = 0; which < 3; ++which) want.push_back(b::attention_grad(g, ops, scale, which));
    ref.values = interpret(g, ref.feeds, want);
    return ref;
}

attn::AttentionProblem problem(const FlashCase& c, attn::Pass pass, double scale) {
    attn::AttentionProblem p;
    p.pass = pass;
    p.b = c.b;
    p.h = c.h;
    p.hkv = c.hkv;
    p.t = c.t;
    p.d = c.d;
    p.scale = scale;
    p.doc_mask = !c.bos.empty();
    p.has_output = {true, pass != attn::Pass::GradQ};
    return p;
}

void* ptr(const HostTensor& t) { return const_cast<void*>(t.data()); }

// Runs the three passes of every case and compares them with the interpreter.
void check_cases(const std::vector<FlashCase>& cases) {
    for (const FlashCase& c : cases) {
        double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
        Reference ref = reference(c, scale);
        const HostTensor &q = ref.feeds.at("q"), &k = ref.feeds.at("k"), &v = ref.feeds.at("v");
        const HostTensor& dout = ref.feeds.at("dout");
        HostTensor out(DType::f32, q.shape), lse(DType::f32, ref.values[1].shape);
        HostTensor dq(DType::f32, q.shape), dk(DType::f32, k.shape), dv(DType::f32, k.shape);
        std::vector<void*> fwd = {ptr(out), ptr(lse), ptr(q), ptr(k), ptr(v)};
        std::vector<void*> grad_in = {ptr(q), ptr(k), ptr(v), ptr(dout), ptr(ref.values[1]), ptr(ref.values[2])};
        if (!c.bos.empty()) {
            fwd.push_back(ptr(ref.feeds.at("docs")));
            grad_in.push_back(ptr(ref.feeds.at("docs")));
        }
        attn::flash_cpu(problem(c, attn::Pass::Forward, scale), fwd, c.blocks);
        std::vector<void*> slots_q = {ptr(dq)}, slots_kv = {ptr(dk), ptr(dv)};
        slots_q.insert(slots_q.end(), grad_in.begin(), grad_in.end());
        slots_kv.insert(slots_kv.end(), grad_in.begin(), grad_in.end());
        attn::flash_cpu(problem(c, attn::Pass::GradQ, scale), slots_q, c.blocks);
        attn::flash_cpu(problem(c, attn::Pass::GradKV, scale), slots_kv, c.blocks);
        INFO("b ", c.b, " h ", c.h, "/", c.hkv, " t ", c.t, " d ", c.d, " blocks ", c.blocks.rows, "x", c.blocks.keys);
        CHECK(max_rel_error(out, ref.values[0]) <= kTol);
        CHECK(max_rel_error(lse, ref.values[1]) <= kTol);
        CHECK(max_rel_error(dq, ref.values[3]) <= kTol);
        CHECK(max_rel_error(dk, ref.values[4]) <= kTol);
        CHECK(max_rel_error(dv, ref.values[5]) <= kTol);
    }
}

}  // namespace

TEST_CASE("flash cpu: forward, dq and dk/dv match the interpreter on ragged GQA shapes") {
    check_cases({{1, 4, 2, 23, 7, {8, 5}, {}}, {2, 3, 1, 17, 4, {4, 6}, {}}, {1, 2, 2, 9, 8, {64, 64}, {}},
                 {1, 6, 2, 40, 16, {16, 16}, {}}});
}

TEST_CASE("flash cpu: document masking at BOS, several ragged documents per row, matches the interpreter") {
    // Row 0: documents [0, 5), [5, 6), [6, 20), [20, 33), [33, 37); row 1: a partial leading
    // document [0, 9), then [9, 30), [30, 37). Blocks of 8 rows x 5 keys, then 4 x 4.
    const std::vector<std::vector<int64_t>> bos = {{0, 5, 6, 20, 33}, {9, 30}};
    check_cases({{2, 4, 2, 37, 7, {8, 5}, bos}, {2, 3, 1, 37, 4, {4, 4}, bos}});
}

TEST_CASE("flash cpu: a pass writes only the outputs it is given") {
    FlashCase c{1, 2, 1, 11, 4, {4, 4}, {}};
    Reference ref = reference(c, 0.5);
    const HostTensor &q = ref.feeds.at("q"), &k = ref.feeds.at("k"), &v = ref.feeds.at("v");
    HostTensor lse(DType::f32, ref.values[1].shape), dv(DType::f32, k.shape);
    attn::AttentionProblem fwd = problem(c, attn::Pass::Forward, 0.5);
    fwd.has_output = {false, true};
    attn::flash_cpu(fwd, attn::slot_buffers(fwd, {ptr(lse), ptr(q), ptr(k), ptr(v)}), c.blocks);
    CHECK(max_rel_error(lse, ref.values[1]) <= kTol);
    attn::AttentionProblem kv = problem(c, attn::Pass::GradKV, 0.5);
    kv.has_output = {false, true};
    std::vector<void*> packed = {ptr(dv), ptr(q), ptr(k), ptr(v), ptr(ref.feeds.at("dout")), ptr(ref.values[1]),
                                 ptr(ref.values[2])};
    attn::flash_cpu(kv, attn::slot_buffers(kv, packed), c.blocks);
    CHECK(max_rel_error(dv, ref.values[5]) <= kTol);
}
