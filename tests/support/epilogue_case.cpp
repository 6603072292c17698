// The GEMM epilogue test graph (see epilogue_case.h).
#include "tests/support/epilogue_case.h"

#include "graph/build.h"

namespace pg::testing {

namespace b = build;

Graph epilogue_case(DType dtype) {
    Graph g;
    NodeId x = b::param(g, "x", {70, 64}, dtype);
    NodeId w1 = b::param(g, "w1", {64, 96}, dtype);
    NodeId w2 = b::param(g, "w2", {96, 64}, dtype);
    NodeId scale = b::param(g, "scale", {64}, DType::f32);
    NodeId resid = b::param(g, "resid", {7, 10, 64}, dtype);
    NodeId grad = b::param(g, "g", {70, 64}, dtype);
    NodeId acc = b::param(g, "acc", {64, 64}, DType::f32);
    NodeId h = b::matmul(g, x, w1);
    NodeId act = b::unary(g, Op::Tanh, b::reshape(g, h, {7, 10, 96}));
    NodeId square = b::mul(g, act, act);
    g.set_output("sq", square);
    NodeId y = b::matmul(g, b::reshape(g, square, {70, 96}), w2);
    NodeId z = b::add(g, resid, b::mul(g, b::cast(g, scale, dtype), b::reshape(g, y, {7, 10, 64})));
    g.set_output("z", z);
    g.set_output("yt", b::cast(g, b::transpose(g, y, 0, 1), DType::f32));
    NodeId d = b::matmul(g, b::transpose(g, x, 0, 1), grad);
    g.set_output("acc", b::add(g, acc, b::mul(g, b::cast(g, d, DType::f32), 0.125)));
    return g;
}

}  // namespace pg::testing
