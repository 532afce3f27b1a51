#include <doctest/doctest.h>

#include <green/green.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// A Lock serialises greenlets that hold it across switches.
TEST_CASE("lock: mutual exclusion across switches") {
    green::Lock lock;
    int inside = 0, peak = 0;
    std::vector<green::Greenlet<void>> gs;
    for (int i = 0; i < 5; ++i)
        gs.push_back(green::spawn([&] {
            std::lock_guard<green::Lock> hold(lock);
            peak = std::max(peak, ++inside);
            green::sleep(1ms);
            --inside;
        }));
    green::joinall(gs);
    CHECK(peak == 1);
    CHECK_FALSE(lock.locked());
}

// acquire with a timeout gives up while another greenlet holds the lock.
TEST_CASE("lock: timeout") {
    green::Lock lock;
    auto holder = green::spawn([&] {
        std::lock_guard<green::Lock> hold(lock);
        green::sleep(100ms);
    });
    green::yield();
    CHECK(lock.locked());
    CHECK_FALSE(lock.acquire(10ms));
    CHECK_FALSE(lock.try_lock());
    holder.kill();
    CHECK_FALSE(lock.locked());  // lock_guard released it while unwinding
    CHECK(lock.try_lock());
    lock.unlock();
}

// A greenlet killed while waiting for the lock does not get it.
TEST_CASE("lock: kill of a waiter") {
    green::Lock lock;
    lock.acquire();
    auto waiter = green::spawn([&] { lock.acquire(); });
    green::yield();
    waiter.kill();
    lock.release();
    CHECK_FALSE(lock.locked());
}

// Misuse is an error, not a hang: re-acquiring, or releasing a lock one does
// not hold.
TEST_CASE("lock: misuse") {
    green::Lock lock;
    CHECK_THROWS_AS(lock.release(), std::logic_error);
    lock.acquire();
    CHECK_THROWS_AS(lock.acquire(), std::logic_error);
    auto other = green::spawn([&] { lock.release(); });
    CHECK_THROWS_AS(other.get(), std::logic_error);
    CHECK(lock.locked());
    lock.release();
    CHECK_THROWS_AS(lock.acquire(-1s), std::invalid_argument);
}

// An RLock may be taken again by its owner and is free after as many releases.
TEST_CASE("rlock: reentrant") {
    green::RLock lock;
    lock.acquire();
    lock.acquire();
    CHECK(lock.depth() == 2);
    bool got = true;
    auto other = green::spawn([&] { got = lock.acquire(10ms); });
    other.join();
    CHECK_FALSE(got);
    lock.release();
    CHECK(lock.locked());
    lock.release();
    CHECK_FALSE(lock.locked());
    CHECK_THROWS_AS(lock.release(), std::logic_error);
}

// RLock works with std::lock_guard and hands over to a waiter.
TEST_CASE("rlock: handoff to a waiter") {
    green::RLock lock;
    std::vector<int> order;
    lock.acquire();
    auto g = green::spawn([&] {
        std::lock_guard<green::RLock> hold(lock);
        order.push_back(2);
    });
    green::yield();
    order.push_back(1);
    lock.release();
    g.join();
    CHECK(order == std::vector<int>{1, 2});
    auto other = green::spawn([&] { lock.release(); });
    CHECK_THROWS_AS(other.get(), std::logic_error);
}
