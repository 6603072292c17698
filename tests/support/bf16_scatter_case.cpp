// The bf16 embedding-gradient case (see bf16_scatter_case.h).
#include "tests/support/bf16_scatter_case.h"

#include <random>

#include "graph/autodiff.h"
#include "graph/build.h"

namespace pg::testing {
namespace {
namespace b = build;

// 2048 tokens over 8 rows: 256 adds per element, row sums near 256 where the bf16 spacing is 2,
// so each bf16 add of a term in [0.5, 1.5] is rounded by up to half its own size.
constexpr int64_t kTokens = 2048, kRows = 8, kWidth = 16;

}  // namespace

Bf16ScatterCase bf16_scatter_case() {
    Bf16ScatterCase c;
    Graph& g = c.graph;
    NodeId emb = b::param(g, "emb", {kRows, kWidth}, DType::bf16);
    NodeId ids = b::input(g, "ids", {kTokens}, DType::i64);
    NodeId w = b::input(g, "w", {kTokens, kWidth}, DType::bf16);
    NodeId prod = b::cast(g, b::mul(g, b::gather(g, emb, ids), w), DType::f32);
    NodeId loss = b::reshape(g, b::sum(g, prod, {0, 1}), {});
    g.set_output("grad", gradients(g, loss, {emb}).at(0));
    std::mt19937_64 rng(13);
    std::uniform_real_distribution<double> u(0.5, 1.5), e(-1.0, 1.0);
    HostTensor ids_t(DType::i64, {kTokens}), w_t(DType::bf16, {kTokens, kWidth}), emb_t(DType::bf16, {kRows, kWidth});
    for (int64_t i = 0; i < kTokens; ++i) ids_t.set(i, static_cast<double>((i * 5) % kRows));
    for (int64_t i = 0; i < w_t.numel(); ++i) w_t.set(i, u(rng));
    for (int64_t i = 0; i < emb_t.numel(); ++i) emb_t.set(i, e(rng));
    c.feeds = {{"ids", ids_t}, {"w", w_t}, {"emb", emb_t}};
    // f32 accumulation of 256 terms errs by at most 256 * 2^-24 relative (1.5e-5); rounded once
    // to bf16 it equals the reference's rounding of the exact sum but where that error straddles a
    // rounding midpoint, and then by one bf16 spacing: at most 2^-7 of the value (8 significant
    // bits), which bounds the normwise error too.
    c.tol = 0x1p-7;
    return c;
}

HostTensor bf16_accumulated_grad(const Bf16ScatterCase& c) {
    const HostTensor& ids = c.feeds.at("ids");
    const HostTensor& w = c.feeds.at("w");
    HostTensor grad(DType::bf16, {kRows, kWidth});
    for (int64_t i = 0; i < kTokens; ++i)
        for (int64_t j = 0; j < kWidth; ++j) {
            int64_t at = static_cast<int64_t>(ids.get(i)) * kWidth + j;
            grad.set(at, grad.get(at) + w.get(i * kWidth + j));
        }
    return grad;
}

}  // namespace pg::testing
