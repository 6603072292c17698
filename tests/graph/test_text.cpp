// Tests of the graph text form (print/parse round trips, exact golden text, errors with line
// numbers) and of the whole-graph verifier.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "base/error.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "graph/text.h"

using namespace pg;
namespace b = pg::build;

namespace {

template <class E>
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(nothing was thrown)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A graph touching most ops, attributes, leaf kinds, escaped names, outputs and updates.
Graph many_ops_graph() {
    Graph g;
    NodeId x = b::input(g, "x \"quoted\"\\name\n\t\x01", {2, 4}, DType::f32);
    NodeId tok = b::input(g, "tokens", {2}, DType::i32);
    NodeId lr = b::scalar(g, "lr");
    NodeId emb = b::param(g, "emb", {5, 4}, DType::bf16);
    NodeId e = b::cast(g, b::gather(g, emb, tok), DType::f32);
    NodeId h = b::unary(g, Op::Tanh, b::mul(g, b::add(g, x, e), 0.1));
    NodeId mask =
        b::binary(g, Op::Lt, b::iota(g, {2, 4}, 1, DType::f32), b::constant(g, 2, {2, 4}));
    h = b::select(g, mask, h, b::constant(g, -1e30, {2, 4}));
    NodeId sm = b::softmax(g, h);
    NodeId mx = b::reduce_max(g, sm, {0, 1});
    NodeId t = b::transpose(g, sm, 0, 1);
    NodeId sl = b::slice(g, t, 0, 1, 4, 2);
    NodeId pd = b::pad(g, sl, {1, 0}, {0, 2}, -0.25);
    NodeId cat = b::concat(g, {pd, x}, 0);
    NodeId mm = b::matmul(g, cat, b::transpose(g, x, 0, 1));
    NodeId sc = b::scatter_add(g, tok, b::slice(g, mm, 0, 0, 2), 5);
    NodeId loss = b::mul(g, b::sum(g, sc, {0, 1}), b::reshape(g, lr, {1, 1}));
    g.set_output("loss", loss);
    g.set_output("max", mx);
    g.add_update(emb, b::mul(g, emb, 0.99));
    return g;
}

}  // namespace

TEST_CASE("text: golden form of a small graph") {
    Graph g;
    NodeId w = b::param(g, "w", {2, 3});
    NodeId m = b::mul(g, w, 0.5);
    NodeId s = b::sum(g, m, {1});
    g.set_output("loss", s);
    g.add_update(w, b::sub(g, w, m));
    const std::string expect =
        "%0 = param f32[2,3] name=\"w\"\n"
        "%1 = const f32[2,3] scalar=0.5\n"
        "%2 = mul f32[2,3] (%0, %1)\n"
        "%3 = sum f32[2,1] (%2) ints=[1]\n"
        "%4 = sub f32[2,3] (%0, %2)\n"
        "output \"loss\" %3\n"
        "update %0 <- %4\n";
    CHECK(print(g) == expect);
    CHECK(print(parse(expect)) == expect);
}

TEST_CASE("text: print -> parse -> print is the identity and keeps semantics") {
    Graph g = many_ops_graph();
    std::string text = print(g);
    Graph back = parse(text);
    CHECK(print(back) == text);
    REQUIRE(back.size() == g.size());
    for (NodeId i = 0; i < g.size(); ++i) CHECK(back[i] == g[i]);
    CHECK(contains(text, R"(name="x \"quoted\"\\name\n\t\x01")"));
    CHECK(contains(text, "scalar=0.10000000149011612"));  // f32(0.1), printed exactly

    Feeds f;
    f["x \"quoted\"\\name\n\t\x01"] =
        HostTensor::from_doubles(DType::f32, {2, 4}, {1, 2, 3, 4, -1, -2, -3, -4});
    f["tokens"] = HostTensor::from_doubles(DType::i32, {2}, {4, 1});
    f["lr"] = HostTensor::from_doubles(DType::f32, {}, {0.5});
    std::vector<double> table(20);
    for (size_t i = 0; i < table.size(); ++i) table[i] = 0.125 * static_cast<double>(i);
    f["emb"] = HostTensor::from_doubles(DType::bf16, {5, 4}, table);
    std::vector<HostTensor> a = interpret_all(g, f);
    std::vector<HostTensor> c = interpret_all(back, f);
    REQUIRE(a.size() == 3);
    REQUIRE(c.size() == 3);
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_doubles() == c[i].to_doubles());
}

TEST_CASE("text: special floats and attributes round-trip exactly") {
    Graph g;
    NodeId a = b::constant(g, NAN, {1});
    NodeId inf = b::constant(g, -INFINITY, {1});
    NodeId tiny = b::constant(g, 1e-300, {1}, DType::f32);  // rounds to 0 in f32
    NodeId x = b::input(g, "x", {1}, DType::f32);
    NodeId p = b::pad(g, x, {0}, {1}, 1.0 / 3.0);  // pad values are kept in fp64
    g.set_output("a", b::add(g, a, inf));
    g.set_output("b", b::add(g, tiny, x));
    g.set_output("p", p);
    std::string text = print(g);
    CHECK(contains(text, "scalar=nan"));
    CHECK(contains(text, "scalar=-inf"));
    CHECK(contains(text, "scalar=0.3333333333333333"));
    CHECK(print(parse(text)) == text);
    CHECK(parse(text)[p].scalar == 1.0 / 3.0);
}

TEST_CASE("text: parse accepts blank lines, comments and any attribute order") {
    Graph g = parse(
        "# a comment\n"
        "\n"
        "  %0 = input i64[3]   name=\"idx\"\n"
        "%1 = iota f32[3,2] ints=[0]\n"
        "%2 = gather f32[3,2] (%1,%0)\n"
        "%3 = pad f32[4,2] (%2) scalar=2 ints=[1,0]\n"
        "output \"y\" %3\n");
    CHECK(g.size() == 4);
    CHECK(g[3].op == Op::Pad);
    CHECK(g[3].scalar == 2);
    CHECK(g[3].ints == std::vector<int64_t>{1, 0});
    CHECK(g.output("y") == 3);
}

TEST_CASE("text: malformed input names the line and the problem") {
    const std::string head = "%0 = param f32[2] name=\"w\"\n";
    struct Case {
        std::string text;
        std::string line;
        std::string detail;
    };
    const Case cases[] = {
        {head + "%1 = frob f32[2] (%0)\n", "line 2", "frob"},
        {head + "%1 = neg f33[2] (%0)\n", "line 2", "f33"},
        {head + "%1 = neg f32[2] (%7)\n", "line 2", "%7 is used before it is defined"},
        {head + "%1 = neg f32[3] (%0)\n", "line 2", "f32[3]"},
        {head + "%1 = neg bf16[2] (%0)\n", "line 2", "inferred type f32[2]"},
        {head + "%0 = neg f32[2] (%0)\n", "line 2", "%0 is defined twice"},
        {head + "%1 = neg f32[2] (%0) color=3\n", "line 2", "unknown attribute 'color'"},
        {head + "%1 = sum f32[1] (%0) ints=[0] ints=[0]\n", "line 2", "'ints' is given twice"},
        {head + "%1 = const f32[2] scalar=abc\n", "line 2", "'abc' is not a number"},
        {head + "%1 = neg f32[2] (%0\n", "line 2", "expected ')'"},
        {head + "%1 = neg f32[2,] (%0)\n", "line 2", "expected an integer"},
        {"%0 = param f32[2] name=\"w\n", "line 1", "unterminated"},
        {"%0 = param f32[2] name=\"w\\q\"\n", "line 1", "unknown escape"},
        {"\n\n%0 = param f32[2]\n", "line 3", "needs a name"},
        {head + "%1 = param f32[3] name=\"v\"\n%2 = add f32[2] (%0, %1)\n", "line 3", "[3]"},
        {head + "output \"y\" %0 extra\n", "line 2", "unexpected 'extra'"},
        {head + "output y %0\n", "line 2", "expected '\"'"},
        {head + "%1 = neg f32[2] (%0)\nupdate %0 <- %2\n", "line 3", "%2 is used before"},
        {head + "%1 = input f32[2] name=\"v\"\nupdate %1 <- %0\n", "line 3", "must be a param"},
        {head + "frobnicate %0\n", "line 2", "'frobnicate'"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        std::string msg = error_of<Error>([&] { parse(c.text); });
        CHECK(contains(msg, c.line + ": "));
        CHECK(contains(msg, c.detail));
    }
}

TEST_CASE("verify: accepts built graphs and rejects composites where only primitives may remain") {
    Graph g = many_ops_graph();
    CHECK_NOTHROW(verify(g, "build"));
    CHECK_NOTHROW(verify(parse(print(g)), "parse"));
    std::string msg = error_of<InternalError>([&] { verify(g, "my_pass", true); });
    CHECK(contains(msg, "my_pass"));
    CHECK(contains(msg, "softmax"));

    Graph prim;
    NodeId x = b::input(prim, "x", {3}, DType::f32);
    prim.set_output("y", b::unary(prim, Op::Exp, x));
    CHECK_NOTHROW(verify(prim, "primitive", true));
}
