#include <doctest/doctest.h>

#include <green/green.hpp>

#include <stdexcept>
#include <string>

#include "support/support.hpp"

using namespace std::chrono_literals;

// set wakes every waiter, and wait returns true.
TEST_CASE("event: set wakes all waiters") {
    green::Event e;
    int woken = 0;
    std::vector<green::Greenlet<void>> gs;
    for (int i = 0; i < 5; ++i) gs.push_back(green::spawn([&] {
        if (e.wait()) ++woken;
    }));
    green::yield();
    CHECK(woken == 0);
    e.set();
    green::joinall(gs);
    CHECK(woken == 5);
}

// A set event returns at once; clear resets it.
TEST_CASE("event: set, is_set, clear") {
    green::Event e;
    CHECK_FALSE(e.is_set());
    e.set();
    CHECK(e.is_set());
    CHECK(e.wait(0s));
    e.clear();
    CHECK_FALSE(e.is_set());
    CHECK_FALSE(e.wait(0s));
}

// wait with a timeout returns false when nobody sets it.
TEST_CASE("event: timeout") {
    green::Event e;
    test::Stopwatch w;
    CHECK_FALSE(e.wait(20ms));
    CHECK(w.seconds() >= 0.019);
}

// A waiter that is killed leaves the event consistent for the others.
TEST_CASE("event: kill of a waiter") {
    green::Event e;
    auto victim = green::spawn([&] { e.wait(); });
    bool other = false;
    auto survivor = green::spawn([&] { other = e.wait(1s); });
    green::yield();
    victim.kill();
    CHECK(victim.killed());
    e.set();
    survivor.join();
    CHECK(other);
}

// A waiter whose event is set and then cleared before it runs still returns true.
TEST_CASE("event: set then clear still wakes") {
    green::Event e;
    bool result = false;
    auto g = green::spawn([&] { result = e.wait(1s); });
    green::yield();
    e.set();
    e.clear();
    g.join();
    CHECK(result);
}

// Destroying an event under a waiter wakes the waiter with logic_error.
TEST_CASE("event: destroyed while waited on") {
    auto e = std::make_unique<green::Event>();
    auto g = green::spawn([&] { e->wait(); });
    green::yield();
    e.reset();
    CHECK_THROWS_AS(g.get(), std::logic_error);
}

// A negative timeout is rejected.
TEST_CASE("event: negative timeout") {
    green::Event e;
    CHECK_THROWS_AS(e.wait(-1ms), std::invalid_argument);
}
