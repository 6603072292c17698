// Sessions: several compiled graphs over the same persistent tensors, by name, without copies;
// conflicting declarations are errors naming both; host<->device bytes are counted by kind; a
// state update to the constant 0 is a fill of the state, not a kernel.
#include <doctest/doctest.h>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "runtime/cpu_executable.h"

namespace pg {
namespace {
namespace b = build;

constexpr size_t kState = static_cast<size_t>(Transfer::State);
constexpr size_t kInput = static_cast<size_t>(Transfer::Input);
constexpr size_t kOutput = static_cast<size_t>(Transfer::Output);

}  // namespace

TEST_CASE("session: two graphs share a parameter; one's update is the other's input, with no copy") {
    std::unique_ptr<Session> s = open_session("cpu");
    Graph inc;  // w <- w + x
    NodeId w = b::param(inc, "w", {4});
    inc.add_update(w, b::add(inc, w, b::input(inc, "x", {4}, DType::f32)));
    Graph read;  // y = 2 w
    read.set_output("y", b::mul(read, b::param(read, "w", {4}), 2.0));
    std::unique_ptr<Executable> a = compile_executable(*s, inc), r = compile_executable(*s, read);
    CHECK(a->leaf_address("w") == r->leaf_address("w"));
    s->set("w", HostTensor::from_doubles(DType::f32, {4}, {1, 2, 3, 4}));
    a->set("x", HostTensor::from_doubles(DType::f32, {4}, {10, 10, 10, 10}));
    TransferStats before = s->transfers();
    a->run();
    a->run();
    r->run();
    HostTensor y = r->get("y");
    CHECK(y.get(0) == 42);
    CHECK(y.get(3) == 48);
    TransferStats d = s->transfers() - before;
    CHECK(d.to_device[kState] + d.to_host[kState] == 0);  // runs moved no state
    CHECK(d.to_host[kOutput] == 16);
    CHECK(d.to_device[kInput] == 0);
}

TEST_CASE("session: a parameter declared with another shape or dtype is an error naming both") {
    std::unique_ptr<Session> s = open_session("cpu");
    Graph g1, g2;
    g1.set_output("y", b::add(g1, b::param(g1, "w", {4}), 1.0));
    g2.set_output("y", b::add(g2, b::param(g2, "w", {5}), 1.0));
    std::unique_ptr<Executable> e1 = compile_executable(*s, g1);
    CHECK_THROWS_WITH_AS(compile_executable(*s, g2), doctest::Contains("'w' is f32 [4], but a graph declares it as f32 [5]"),
                         Error);
    CHECK_THROWS_WITH_AS(s->get("missing"), doctest::Contains("no tensor named 'missing'"), Error);
    CHECK_THROWS_WITH_AS(s->set("w", HostTensor(DType::f32, {3})), doctest::Contains("expected f32 [4]"), Error);
}

TEST_CASE("session: an update to the constant 0 is a zero fill of the state, after every kernel") {
    Graph g;  // y = sum(acc); acc <- 0
    NodeId acc = b::param(g, "acc", {3, 5});
    g.set_output("y", b::sum(g, acc, {0, 1}));
    g.add_update(acc, b::constant(g, 0.0, {3, 5}));
    ExecPlan plan = compile_plan(g, cpu_target());
    CHECK(plan.count(PlanStep::Kind::Zero) == 1);
    CHECK(plan.count(PlanStep::Kind::Copy) == 0);
    CHECK(plan.count(PlanStep::Kind::Kernel) == 1);  // the sum only: no kernel writes the zeros
    std::unique_ptr<Session> s = open_session("cpu");
    CpuExecutable exe(*s, g);
    HostTensor ones(DType::f32, {3, 5});
    for (int64_t i = 0; i < 15; ++i) ones.set(i, 1.0);
    s->set("acc", ones);
    exe.run();
    CHECK(exe.get("y").get(0) == 15);  // read before the fill
    HostTensor after = s->get("acc");
    for (int64_t i = 0; i < 15; ++i) CHECK(after.get(i) == 0);
}

}  // namespace pg
