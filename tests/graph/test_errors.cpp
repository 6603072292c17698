// Tests that user mistakes in graph building give a pg::Error whose message names the op and
// every shape involved, so that the user can find the culprit without a debugger.
#include <doctest/doctest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "base/error.h"
#include "graph/build.h"

using namespace pg;
namespace b = pg::build;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no pg::Error was thrown)";
}

// Checks that f throws pg::Error and that its message contains every one of `parts`.
void check_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
    std::string msg = error_of(f);
    CAPTURE(msg);
    for (const std::string& p : parts) {
        CAPTURE(p);
        CHECK(msg.find(p) != std::string::npos);
    }
}

NodeId f32(Graph& g, const char* name, const Shape& s) {
    return b::input(g, name, s, DType::f32);
}

}  // namespace

TEST_CASE("errors: matmul names both shapes") {
    Graph g;
    NodeId a = f32(g, "a", {2, 3});
    NodeId c = f32(g, "c", {4, 5});
    check_error([&] { b::matmul(g, a, c); }, {"matmul", "[2,3]", "[4,5]", "inner dimensions"});
    NodeId x = f32(g, "x", {2, 2, 3});
    NodeId y = f32(g, "y", {3, 3, 4});
    check_error([&] { b::matmul(g, x, y); }, {"matmul", "[2,2,3]", "[3,3,4]", "batch"});
    NodeId r = f32(g, "r", {3});
    check_error([&] { b::matmul(g, r, r); }, {"matmul", "[3]", "rank"});
    NodeId i = b::input(g, "i", {3, 3}, DType::i32);
    check_error([&] { b::matmul(g, i, i); }, {"matmul", "i32", "float"});
}

TEST_CASE("errors: binary and select operands that do not broadcast") {
    Graph g;
    NodeId a = f32(g, "a", {2, 3});
    NodeId c = f32(g, "c", {4});
    check_error([&] { b::add(g, a, c); }, {"add", "[2,3]", "[4]"});
    check_error([&] { b::binary(g, Op::Lt, a, f32(g, "d", {3, 3})); }, {"lt", "[2,3]", "[3,3]"});
    NodeId cond = b::input(g, "m", {5}, DType::boolean);
    check_error([&] { b::select(g, cond, a, a); }, {"select", "[5]", "[2,3]"});
    NodeId h = b::input(g, "h", {2, 3}, DType::bf16);
    check_error([&] { b::mul(g, a, h); }, {"mul", "f32", "bf16", "cast"});
    check_error([&] { b::unary(g, Op::Exp, b::input(g, "n", {2}, DType::i64)); },
                {"exp", "i64", "float"});
}

TEST_CASE("errors: reshape, broadcast and permute") {
    Graph g;
    NodeId a = f32(g, "a", {2, 3});
    check_error([&] { b::reshape(g, a, {4}); }, {"reshape", "[2,3]", "[4]"});
    check_error([&] { b::broadcast_to(g, a, {2, 4}); }, {"[2,3]", "[2,4]"});
    check_error([&] { b::broadcast_to(g, a, {3}); }, {"broadcast", "[2,3]", "[3]"});
    check_error([&] { b::permute(g, a, {0, 0}); }, {"permute", "[2,3]", "not a permutation"});
    check_error([&] { b::permute(g, a, {0, 1, 2}); }, {"permute", "axis 2", "rank 2"});
}

TEST_CASE("errors: bad axes name the op, the axis and the rank") {
    Graph g;
    NodeId a = f32(g, "a", {2, 3});
    check_error([&] { b::sum(g, a, {3}); }, {"sum", "axis 3", "rank 2"});
    check_error([&] { b::reduce_max(g, a, {-3}); }, {"reduce_max", "axis -3", "rank 2"});
    check_error([&] { b::transpose(g, a, 0, 2); }, {"transpose", "axis 2"});
    check_error([&] { b::concat(g, {a, a}, 5); }, {"concat", "axis 5"});
    check_error([&] { b::slice(g, a, 2, 0, 1); }, {"slice", "axis 2"});
    check_error([&] { b::iota(g, {4}, 1); }, {"iota", "axis 1"});
    // A raw node with a bad axis is caught by type inference, which also names the shape.
    Node n;
    n.op = Op::Sum;
    n.inputs = {a};
    n.ints = {5};
    check_error([&] { g.add(n); }, {"sum", "[2,3]", "axis 5", "rank 2"});
}

TEST_CASE("errors: slice, pad, concat, gather, scatter_add") {
    Graph g;
    NodeId a = f32(g, "a", {4});
    check_error([&] { b::slice(g, a, 0, 2, 6); }, {"slice", "[2, 6)", "[4]"});
    check_error([&] { b::slice(g, a, 0, 0, 4, 0); }, {"slice", "step"});
    check_error([&] { b::pad(g, a, {-1}, {0}); }, {"pad", "negative"});
    check_error([&] { b::pad(g, a, {1, 1}, {0, 0}); }, {"pad", "axes"});
    NodeId m = f32(g, "m", {2, 3});
    NodeId n = f32(g, "n", {3, 3});
    check_error([&] { b::concat(g, {m, n}, 1); }, {"concat", "[2,3]", "[3,3]"});
    NodeId fidx = f32(g, "fidx", {2});
    check_error([&] { b::gather(g, m, fidx); }, {"gather", "f32 [2,3]", "f32 [2]", "integers"});
    NodeId idx = b::input(g, "idx", {3}, DType::i32);
    check_error([&] { b::scatter_add(g, idx, m, 4); }, {"scatter_add", "i32 [3]", "f32 [2,3]"});
}

TEST_CASE("errors: composite ops name their operand shapes") {
    Graph g;
    NodeId logits = f32(g, "logits", {2, 5});
    NodeId targets = b::input(g, "targets", {3}, DType::i64);
    check_error([&] { b::cross_entropy(g, logits, targets); }, {"cross_entropy", "[2,5]", "[3]"});
    NodeId q = f32(g, "q", {1, 3, 4, 8});
    NodeId k = f32(g, "k", {1, 2, 4, 8});
    check_error([&] { b::attention(g, q, k, k, 0.35); },
                {"attention", "[1,3,4,8]", "[1,2,4,8]", "heads"});
    NodeId x = f32(g, "x", {1, 4, 2, 6});
    check_error([&] { b::rope(g, x, 3, 10000); }, {"rope", "[1,4,2,6]", "even"});
    check_error([&] { b::rms_norm(g, x, 0); }, {"rms_norm", "eps"});
}

TEST_CASE("errors: leaves and state updates") {
    Graph g;
    check_error([&] { b::param(g, "", {2}); }, {"param", "name"});
    check_error([&] { b::input(g, "bad", {2, -1}, DType::f32); }, {"negative", "[2,-1]"});
    NodeId w = b::param(g, "w", {2, 3});
    NodeId v = f32(g, "v", {3, 2});
    check_error([&] { g.add_update(w, v); }, {"'w'", "f32 [2,3]", "f32 [3,2]"});
    check_error([&] { g.add_update(v, v); }, {"param", "input"});
    check_error([&] { g.output("missing"); }, {"'missing'"});
    check_error([&] { parse_dtype("f8"); }, {"'f8'", "bf16"});
    check_error([&] { parse_op("conv"); }, {"'conv'"});
}
