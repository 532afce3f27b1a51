#include <doctest/doctest.h>

#include <green/green.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

green::Greenlet<int> after(std::chrono::milliseconds d, int value) {
    return green::spawn([d, value] {
        green::sleep(d);
        return value;
    });
}

// A greenlet that finishes (with `value`) only once `go` is set.
green::Greenlet<int> once_set(green::Event& go, int value) {
    return green::spawn([&go, value] {
        go.wait();
        return value;
    });
}

}  // namespace

// joinall waits for every greenlet, however long each takes.
TEST_CASE("joinall: waits for all") {
    std::vector<green::Greenlet<int>> gs{after(30ms, 1), after(10ms, 2), after(20ms, 3)};
    test::Stopwatch w;
    CHECK(green::joinall(gs));
    for (auto& g : gs) CHECK(g.ready());
    CHECK(w.seconds() < 1);
}

// joinall with a timeout returns false when some are still running.
TEST_CASE("joinall: timeout") {
    std::vector<green::Greenlet<int>> gs{after(1ms, 1), after(500ms, 2)};
    CHECK_FALSE(green::joinall(gs, 30ms));
    CHECK(gs[0].ready());
    CHECK_FALSE(gs[1].ready());
    gs[1].kill();
}

// With raise_error, joinall rethrows the first failure as soon as it happens,
// without waiting for slower greenlets (here one that never ends by itself).
TEST_CASE("joinall: raise_error rethrows the first failure at once") {
    green::Event never;
    auto slow = once_set(never, 1);
    auto bad = green::spawn([]() -> int {
        green::sleep(10ms);
        throw std::runtime_error("bad");
    });
    CHECK_THROWS_WITH(green::joinall({slow, bad}, green::forever, true), "bad");
    CHECK_FALSE(slow.ready());
    slow.kill();
}

// A greenlet blocked in joinall can be killed.
TEST_CASE("joinall: kill of the waiter") {
    auto never = green::spawn([] { green::sleep(100s); });
    auto waiter = green::spawn([&] { green::joinall({never}); });
    green::yield();
    waiter.kill();
    CHECK(waiter.killed());
    never.kill();
}

// Negative timeouts and empty handles are refused.
TEST_CASE("joinall: bad input") {
    auto g = after(1ms, 1);
    CHECK_THROWS_AS(green::joinall({g}, -1s), std::invalid_argument);
    std::vector<green::AnyGreenlet> with_empty{g, green::AnyGreenlet{}};
    CHECK_THROWS_AS(green::joinall(with_empty), std::logic_error);
    CHECK(green::joinall(std::vector<green::AnyGreenlet>{}));
    g.join();
}

// iwait yields greenlets in the order they finish.
TEST_CASE("iwait: completion order") {
    std::vector<green::Greenlet<int>> gs{after(30ms, 3), after(10ms, 1), after(20ms, 2)};
    std::vector<int> order;
    for (const green::AnyGreenlet& g : green::iwait(gs)) order.push_back(static_cast<const green::Greenlet<int>&>(g).get());
    CHECK(order == std::vector<int>{1, 2, 3});
}

// iwait with a timeout stops yielding when the time is up.
TEST_CASE("iwait: timeout ends the iteration") {
    std::vector<green::Greenlet<int>> gs{after(1ms, 1), after(500ms, 2)};
    int n = 0;
    for (const auto& g : green::iwait(gs, 50ms)) {
        CHECK(g.ready());
        ++n;
    }
    CHECK(n == 1);
    gs[1].kill();
}

// Already finished greenlets are yielded first.
TEST_CASE("iwait: finished ones first") {
    auto done = after(0ms, 0);
    done.join();
    auto later = after(10ms, 1);
    std::vector<green::AnyGreenlet> order;
    for (const auto& g : green::iwait(std::vector<green::AnyGreenlet>{later, done})) order.push_back(g);
    REQUIRE(order.size() == 2);
    CHECK(order[0] == done);
    CHECK(order[1] == later);
}

// wait returns as soon as `count` greenlets are done (here while the first
// one cannot end yet), in completion order.
TEST_CASE("wait: count") {
    green::Event go;
    std::vector<green::Greenlet<int>> gs{once_set(go, 1), after(10ms, 2), after(20ms, 3)};
    auto done = green::wait(gs, green::forever, 2);
    REQUIRE(done.size() == 2);
    CHECK(done[0] == gs[1]);
    CHECK(done[1] == gs[2]);
    CHECK_FALSE(gs[0].ready());
    go.set();
    auto all = green::wait(gs, 2s);
    CHECK(all.size() == 3);
}

// wait with a timeout returns what finished in time.
TEST_CASE("wait: timeout") {
    std::vector<green::Greenlet<int>> gs{after(1ms, 1), after(500ms, 2)};
    auto done = green::wait(gs, 30ms);
    CHECK(done.size() == 1);
    gs[1].kill();
}
