// Token-mixing embeddings (see token_mixing.h). The IR has no bitwise ops, so the hash's XOR is
// built from integer division: bit k of a is (a / 2^k) mod 2, and a XOR b sums 2^k·(a_k + b_k −
// 2·a_k·b_k). The operands stay below 2^31 for vocabularies up to 59,000 (36313·V), so i64
// arithmetic is exact on every backend.
#include "frontend/nn/token_mixing.h"

#include <cmath>

#include "base/error.h"
#include "frontend/nn/layers.h"

namespace pg::nn {
namespace {

Tensor int_const(const Tensor& like, double v) { return {&like.graph(), build::constant(like.graph(), v, {}, like.dtype())}; }
Tensor idiv(const Tensor& a, double c) { return {&a.graph(), build::div(a.graph(), a.id(), int_const(a, c).id())}; }
Tensor imod(const Tensor& a, double c) { return a - idiv(a, c) * int_const(a, c); }

// a XOR b for non-negative integers below 2^bits.
Tensor bitwise_xor(Tensor a, Tensor b, int bits) {
    Tensor out = int_const(a, 0);
    double place = 1;
    for (int k = 0; k < bits; ++k) {
        Tensor ak = imod(a, 2), bk = imod(b, 2);
        out = out + (ak + bk - ak * bk * int_const(a, 2)) * int_const(a, place);
        a = idiv(a, 2);
        b = idiv(b, 2);
        place *= 2;
    }
    return out;
}

// Sequence position of each element of x [B, T, ...] (i64, broadcast shape of x).
Tensor positions(const Tensor& x) { return {&x.graph(), build::iota(x.graph(), x.shape(), 1, DType::i64)}; }

// x [B, T, ...] -> x_{t-s} along axis 1, zeros for t < s.
Tensor shifted_right(const Tensor& x, int64_t s) {
    std::vector<int64_t> lo(x.shape().size(), 0), hi(x.shape().size(), 0);
    lo[1] = s;
    Tensor padded(&x.graph(), build::pad(x.graph(), x.id(), lo, hi));
    return padded.slice(1, 0, x.dim(1));
}

}  // namespace

Tensor previous_token(const Tensor& x) { return shifted_right(x, 1); }

Tensor bigram_hash(const Tensor& ids, int64_t buckets, int64_t vocab_size) {
    PG_CHECK(buckets >= 2, "BIGRAM_VOCAB_SIZE={} must be at least 2 (the last bucket is the sequence start)", buckets);
    const double largest = 36313.0 * static_cast<double>(vocab_size);
    PG_CHECK(largest < 2147483648.0, "BigramHash needs VOCAB_SIZE below 59,138 (VOCAB_SIZE={})", vocab_size);
    const int bits = static_cast<int>(std::ceil(std::log2(largest + 1)));
    Tensor cur = ids.cast(DType::i64);
    Tensor prev = previous_token(cur);
    Tensor h = imod(bitwise_xor(cur * int_const(cur, 36313), prev * int_const(cur, 27191), bits),
                    static_cast<double>(buckets - 1));
    Graph& g = ids.graph();
    Tensor first(&g, build::binary(g, Op::Eq, positions(cur).id(), int_const(cur, 0).id()));
    return {&g, build::select(g, first.id(), int_const(cur, static_cast<double>(buckets - 1)).id(), h.id())};
}

Tensor bigram_hash_embedding(ParamSet& ps, const Tensor& ids, int64_t buckets, int64_t dim, int64_t model_dim,
                             int64_t vocab_size, DType act) {
    Tensor table = ps.use("bigram.embed.weight", {buckets, dim}, Init::normal(0.01), "embed");
    Tensor scale = ps.use("bigram.scale", {}, Init::constant(0.05), "scalar");
    Tensor e = gather(table, bigram_hash(ids, buckets, vocab_size)).cast(act);
    return linear(ps, "bigram.proj", e, model_dim, /*zero_init=*/true) * scale.cast(act);
}

Tensor smear_gate_v1(ParamSet& ps, const Tensor& x) {
    Tensor g = ps.use("smear.gate", {x.dim(-1)}, Init::zeros(), "scalar").cast(x.dtype()).sigmoid();
    return (1.0 - g) * x + g * previous_token(x);
}

Tensor smear_gate_v2(ParamSet& ps, const Tensor& e, const Tensor& ids, int64_t bos_id) {
    const int64_t B = e.dim(0), T = e.dim(1);
    Tensor w = ps.use("smear_gate.weight", {1, kGateWindow}, Init::zeros(), "scalar");
    Tensor lambda = ps.use("smear_lambda", {}, Init::zeros(), "scalar");
    Tensor src = e.slice(2, 0, kGateWindow).reshape({B * T, kGateWindow});
    Tensor gate = matmul(src, w.cast(e.dtype()).transpose(0, 1)).sigmoid().reshape({B, T, 1}) * lambda.cast(e.dtype());
    // Position 0 has no previous token (previous_token gives zeros); BOS never takes one.
    Graph& g = e.graph();
    Tensor ids64 = ids.cast(DType::i64);
    Tensor keep(&g, build::binary(g, Op::Ne, ids64.id(), int_const(ids64, static_cast<double>(bos_id)).id()));
    Tensor mask = keep.cast(e.dtype()).reshape({B, T, 1});
    return e + gate * mask * previous_token(e);
}

Tensor document_starts(const Tensor& ids, int64_t bos_id) {
    Graph& g = ids.graph();
    Tensor ids64 = ids.cast(DType::i64);
    Tensor is_bos(&g, build::binary(g, Op::Eq, ids64.id(), int_const(ids64, static_cast<double>(bos_id)).id()));
    // i32 throughout (positions < 2^31): half the registers of i64 in the generated kernels.
    Tensor pos(&g, build::iota(g, ids.shape(), 1, DType::i32));
    Tensor start(&g, build::select(g, is_bos.id(), pos.id(), int_const(pos, 0).id()));
    // The prefix maximum by doubling: after the step of shift s every position holds the maximum
    // over the 2s positions ending at it, so ceil(log2 T) steps cover the row (11 at T = 2048).
    for (int64_t shift = 1; shift < ids.dim(1); shift *= 2) start = maximum(start, shifted_right(start, shift));
    return start;
}

Tensor shared_value_embedding(ParamSet& ps, const Tensor& ids, int64_t vocab_size, int64_t dim, int64_t kv_dim,
                              DType act) {
    Tensor table = ps.use("ve_shared.embed.weight", {vocab_size, dim}, Init::normal(0.01), "embed");
    Tensor proj = linear(ps, "ve_shared.proj", gather(table, ids).cast(act), kv_dim, /*zero_init=*/true);
    return proj * ps.use("ve_shared.scale", {}, Init::constant(0.1), "scalar").cast(act);
}

}  // namespace pg::nn
