#include <doctest/doctest.h>

#include <green/green.hpp>

#include <mutex>
#include <stdexcept>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// A Semaphore(n) lets at most n greenlets in at once.
TEST_CASE("semaphore: bounds concurrency") {
    green::Semaphore sem(3);
    int inside = 0, peak = 0;
    std::vector<green::Greenlet<void>> gs;
    for (int i = 0; i < 10; ++i)
        gs.push_back(green::spawn([&] {
            std::lock_guard<green::Semaphore> hold(sem);
            peak = std::max(peak, ++inside);
            green::sleep(2ms);
            --inside;
        }));
    green::joinall(gs);
    CHECK(peak == 3);
    CHECK(sem.counter() == 3);
}

// Waiters are served first come, first served.
TEST_CASE("semaphore: FIFO handoff") {
    green::Semaphore sem(0);
    std::vector<int> order;
    std::vector<green::Greenlet<void>> gs;
    for (int i = 0; i < 4; ++i)
        gs.push_back(green::spawn([&, i] {
            sem.acquire();
            order.push_back(i);
        }));
    green::yield();
    for (int i = 0; i < 4; ++i) sem.release();
    green::joinall(gs);
    CHECK(order == std::vector<int>{0, 1, 2, 3});
}

// acquire with a timeout gives up; try_acquire never waits.
TEST_CASE("semaphore: timeout and try") {
    green::Semaphore sem(1);
    CHECK(sem.try_acquire());
    CHECK(sem.locked());
    CHECK_FALSE(sem.try_acquire());
    test::Stopwatch w;
    CHECK_FALSE(sem.acquire(20ms));
    CHECK(w.seconds() >= 0.019);
    sem.release();
    CHECK(sem.acquire(0s));
}

// A killed waiter does not take a unit: the next waiter gets it.
TEST_CASE("semaphore: kill of a waiter loses nothing") {
    green::Semaphore sem(0);
    auto victim = green::spawn([&] { sem.acquire(); });
    bool got = false;
    auto next = green::spawn([&] { got = sem.acquire(1s); });
    green::yield();
    victim.kill();
    sem.release();
    next.join();
    CHECK(got);
    CHECK(sem.counter() == 0);
}

// A unit handed to a waiter that is killed before it runs stays with it: the
// kill arrives at its next wait, and the unit is not lost.
TEST_CASE("semaphore: handoff beats a racing kill") {
    green::Semaphore sem(0);
    bool acquired = false;
    auto g = green::spawn([&] {
        acquired = sem.acquire();
        sem.release();       // give it back...
        green::sleep(1s);    // ...and die here
    });
    green::yield();
    sem.release();                                                  // hands the unit to g
    g.kill(std::make_exception_ptr(green::GreenletExit{}), false);  // before g runs
    g.join();
    CHECK(acquired);
    CHECK(sem.counter() == 1);
}

// Bad input: a negative initial value, an over-release of a BoundedSemaphore.
TEST_CASE("semaphore: bad input") {
    CHECK_THROWS_AS(green::Semaphore(-1), std::invalid_argument);
    green::BoundedSemaphore b(2);
    b.acquire();
    b.release();
    CHECK_THROWS_AS(b.release(), std::logic_error);
    CHECK(b.counter() == 2);
    green::Semaphore plain(1);
    plain.release();  // an unbounded semaphore may grow
    CHECK(plain.counter() == 2);
    CHECK_THROWS_AS(plain.acquire(-1s), std::invalid_argument);
}
