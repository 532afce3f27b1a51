#include <doctest/doctest.h>

#include <green/green.hpp>

#include <stdexcept>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// sleep suspends only the caller: two sleepers overlap instead of adding up.
TEST_CASE("sleep: sleepers overlap") {
    test::Stopwatch w;
    auto a = green::spawn([] { green::sleep(100ms); });
    auto b = green::spawn([] { green::sleep(100ms); });
    green::joinall({a, b});
    CHECK(w.seconds() >= 0.095);
    CHECK(w.seconds() < 1.0);
}

// sleep never returns early, even right after a long stretch of CPU work that
// left the loop's cached clock stale.
TEST_CASE("sleep: never shorter than asked") {
    auto spin_until = std::chrono::steady_clock::now() + 30ms;
    while (std::chrono::steady_clock::now() < spin_until) {
    }
    test::Stopwatch w;
    green::sleep(20ms);
    CHECK(w.seconds() >= 0.019);
}

// yield lets every other ready greenlet run once, in order.
TEST_CASE("sleep: yield round-robins") {
    std::vector<int> trace;
    auto a = green::spawn([&] {
        for (int i = 0; i < 3; ++i) {
            trace.push_back(1);
            green::yield();
        }
    });
    auto b = green::spawn([&] {
        for (int i = 0; i < 3; ++i) {
            trace.push_back(2);
            green::yield();
        }
    });
    green::joinall({a, b});
    CHECK(trace == std::vector<int>{1, 2, 1, 2, 1, 2});
}

// sleep(0) is a yield and a negative sleep is invalid.
TEST_CASE("sleep: zero and negative") {
    green::sleep(0s);
    CHECK_THROWS_AS(green::sleep(-1ms), std::invalid_argument);
}

// A greenlet killed while sleeping dies at once, not when the sleep would end.
TEST_CASE("sleep: kill interrupts a sleep") {
    auto g = green::spawn([] { green::sleep(100s); });
    green::yield();
    test::Stopwatch w;
    g.kill();
    CHECK(w.seconds() < 1);
}

// A Timeout throws TimeoutError (naming itself) into a greenlet parked past it.
TEST_CASE("timeout: expiry interrupts a parked greenlet") {
    green::Event never;
    test::Stopwatch w;
    const green::Timeout* source = nullptr;
    try {
        green::Timeout t(30ms);
        source = &t;
        never.wait();
        FAIL("wait returned");
    } catch (const green::TimeoutError& e) {
        CHECK(e.source() == source);
    }
    CHECK(w.seconds() >= 0.025);
    CHECK(w.seconds() < 2);
}

// A Timeout that is cancelled or leaves its scope in time never fires.
TEST_CASE("timeout: cancel and scope exit disarm it") {
    {
        green::Timeout t(10ms);
        t.cancel();
        green::sleep(30ms);
        CHECK_FALSE(t.expired());
    }
    {
        green::Timeout t(20ms);
    }
    green::sleep(40ms);  // the destroyed Timeout must not fire here
}

// Nested timeouts: the inner one fires first and is the one reported; the outer
// keeps running and fires later.
TEST_CASE("timeout: nested, inner fires first") {
    green::Timeout outer(150ms);
    const green::Timeout* fired = nullptr;
    try {
        green::Timeout inner(20ms);
        green::sleep(1s);
    } catch (const green::TimeoutError& e) {
        fired = e.source();
    }
    CHECK(fired != nullptr);
    CHECK(fired != &outer);
    CHECK_FALSE(outer.expired());
    CHECK_THROWS_AS(green::sleep(1s), green::TimeoutError);
    CHECK(outer.expired());
}

// Nested timeouts: when the outer one fires first, it is the one reported.
TEST_CASE("timeout: nested, outer fires first") {
    const green::Timeout* fired = nullptr;
    const green::Timeout* outer_ptr = nullptr;
    try {
        green::Timeout outer(20ms);
        outer_ptr = &outer;
        green::Timeout inner(500ms);
        green::sleep(1s);
    } catch (const green::TimeoutError& e) {
        fired = e.source();
    }
    CHECK(fired == outer_ptr);
}

// A Timeout in a spawned greenlet interrupts that greenlet, not its spawner.
TEST_CASE("timeout: belongs to the greenlet that made it") {
    auto g = green::spawn([] {
        green::Timeout t(20ms);
        green::sleep(1s);
    });
    CHECK_THROWS_AS(g.get(), green::TimeoutError);
}

// with_timeout returns the function's value, or throws TimeoutError.
TEST_CASE("timeout: with_timeout") {
    CHECK(green::with_timeout(1s, [](int x) { return x * 2; }, 21) == 42);
    CHECK_THROWS_AS(green::with_timeout(10ms, [] { green::sleep(1s); }), green::TimeoutError);
    CHECK_THROWS_AS(green::Timeout(-1s), std::invalid_argument);
}

// An item handed to a greenlet whose Timeout expired in the same loop iteration
// is not lost: get returns it and the TimeoutError comes at the next wait.
// Both timers below expire while main spins, so one loop iteration fires them
// together, in expiry order: the putter becomes ready, then the getter's Timeout
// marks the getter interrupted; the putter runs first and hands it the item.
TEST_CASE("timeout: a handoff is not lost to a racing timeout") {
    green::Queue<int> q;
    bool timed_out_later = false;
    auto getter = green::spawn([&] {
        green::Timeout t(6ms);
        int got = q.get();
        try {
            green::sleep(1s);
        } catch (const green::TimeoutError&) {
            timed_out_later = true;
        }
        return got;
    });
    auto putter = green::spawn([&] {
        green::sleep(5ms);
        q.put(5);
    });
    green::yield();  // both are parked now
    auto until = std::chrono::steady_clock::now() + 30ms;
    while (std::chrono::steady_clock::now() < until) {
    }
    int got = -1;
    try {
        got = getter.get();
    } catch (const green::TimeoutError&) {
    }
    putter.join();
    // Never lost: either the getter returned it, or it is still in the queue.
    CHECK((got == 5 || q.try_get() == std::optional<int>(5)));
    CHECK(got == 5);
    CHECK(timed_out_later);
}
