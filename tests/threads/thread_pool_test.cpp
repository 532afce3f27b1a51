#include <doctest/doctest.h>

#include <green/green.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "support/support.hpp"

using namespace std::chrono_literals;

// run_in_thread returns the function's value computed on another OS thread.
TEST_CASE("thread_pool: result comes back") {
    const auto main_id = std::this_thread::get_id();
    auto [value, id] = green::run_in_thread([](int x) { return std::pair(x * 2, std::this_thread::get_id()); }, 21);
    CHECK(value == 42);
    CHECK(id != main_id);
}

// Only the calling greenlet waits: others keep running during a blocking call.
// The call waits for five ticks of a greenlet of the caller's hub, which can
// come only if the hub runs meanwhile (it gives up after 10 s).
TEST_CASE("thread_pool: the hub keeps running") {
    std::atomic<int> ticks{0};
    bool stop = false;
    auto ticker = green::spawn([&] {
        while (!stop) {
            green::sleep(1ms);
            ++ticks;
        }
    });
    const bool saw_ticks = green::run_in_thread([&] {  // a really blocking call
        for (int waited_ms = 0; waited_ms < 10000; ++waited_ms) {
            if (ticks.load() >= 5) return true;
            ::usleep(1000);
        }
        return false;
    });
    stop = true;
    ticker.join();
    CHECK(saw_ticks);
}

// The function's exception is rethrown in the caller.
TEST_CASE("thread_pool: exceptions propagate") {
    CHECK_THROWS_WITH(green::run_in_thread([]() -> int { throw std::runtime_error("in thread"); }), "in thread");
}

// Many greenlets share a bounded pool; calls run in parallel up to its size.
TEST_CASE("thread_pool: bounded parallelism") {
    green::ThreadPool pool(4);
    std::atomic<int> inside{0}, peak{0};
    std::vector<green::Greenlet<int>> gs;
    for (int i = 0; i < 12; ++i)
        gs.push_back(pool.spawn([&, i] {
            int now = ++inside;
            int p = peak.load();
            while (now > p && !peak.compare_exchange_weak(p, now)) {
            }
            ::usleep(10 * 1000);
            --inside;
            return i;
        }));
    int sum = 0;
    for (auto& g : gs) sum += g.get();
    CHECK(sum == 66);
    CHECK(peak <= 4);
    CHECK(pool.size() <= 4);
}

// Killing a greenlet waiting for a call abandons the call safely; a queued call
// that never started is cancelled.
TEST_CASE("thread_pool: kill of the waiting greenlet") {
    green::ThreadPool pool(1);
    std::atomic<bool> second_ran{false};
    auto first = pool.spawn([] { ::usleep(50 * 1000); });
    auto second = pool.spawn([&] { second_ran = true; });
    green::yield();
    second.kill();  // still queued behind `first`
    first.kill();   // already running: finishes, result dropped
    green::sleep(100ms);
    CHECK_FALSE(second_ran);
    CHECK(pool.apply([] { return 5; }) == 5);  // the pool still works
}

// A ThreadPool of zero threads is refused.
TEST_CASE("thread_pool: bad size") { CHECK_THROWS_AS(green::ThreadPool(0), std::invalid_argument); }

// A greenlet waiting on a thread is not a deadlock: the hub does not raise
// LoopExit while the call is outstanding.
TEST_CASE("thread_pool: waiting on a thread keeps the loop alive") {
    CHECK(green::run_in_thread([] {
        ::usleep(30 * 1000);
        return 1;
    }) == 1);
}
