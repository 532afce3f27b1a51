#include <doctest/doctest.h>

#include <green/green.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// main() is already a greenlet: it can block with no setup call.
TEST_CASE("hub: the main thread blocks without setup") {
    green::sleep(1ms);
    green::Event e;
    auto g = green::spawn([&] { e.set(); });
    CHECK(e.wait(1s));
    g.join();
}

// Waiting for something no greenlet can ever provide is reported with LoopExit
// instead of hanging.
TEST_CASE("hub: a wait that can never end throws LoopExit") {
    green::Event never;
    CHECK_THROWS_AS(never.wait(), green::LoopExit);
    green::Queue<int> q;
    CHECK_THROWS_AS(q.get(), green::LoopExit);
}

// Every OS thread gets its own hub, lazily; greenlets of different threads run
// independently.
TEST_CASE("hub: each thread has its own hub") {
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            std::vector<green::Greenlet<int>> gs;
            for (int i = 0; i < 100; ++i)
                gs.push_back(green::spawn([i] {
                    green::sleep(1ms);
                    return i;
                }));
            int sum = 0;
            for (auto& g : gs) sum += g.get();
            if (sum == 4950) ++done;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(done == 4);
}

// A greenlet's handle used from another thread is refused, not a data race.
TEST_CASE("hub: handles belong to their thread") {
    auto g = green::spawn([] { green::sleep(20ms); });
    std::string error;
    std::thread([&] {
        try {
            g.join();
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    }).join();
    CHECK(error.find("another thread") != std::string::npos);
    g.join();
}

// dump() lists every live greenlet with its name, state and what it waits in.
TEST_CASE("hub: dump shows greenlets and their waits") {
    green::Event e;
    auto g = green::spawn(green::SpawnOptions{.name = "waiter"}, [&] { e.wait(); });
    auto s = green::spawn(green::SpawnOptions{.name = "sleeper"}, [] { green::sleep(1s); });
    green::yield();
    const std::string d = green::dump();
    CHECK(d.find("waiter: waiting in Event::wait") != std::string::npos);
    CHECK(d.find("sleeper: waiting in sleep") != std::string::npos);
    CHECK(d.find("main: running") != std::string::npos);
    e.set();
    s.kill();
    g.join();
    CHECK(green::dump().find("waiter") == std::string::npos);
}

// A greenlet that fails prints its name and exception on stderr, and the process
// goes on (checked in a child process to read its stderr).
TEST_CASE("hub: an uncaught exception is reported, not fatal") {
    const auto r = test::run({HELPER_PATH, "fail"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("green: greenlet doomed failed with std::runtime_error: kaboom") != std::string::npos);
    CHECK(r.out == "survived\n");
}

// A wake-up for a greenlet that cannot be woken (here a finished one) is a bug
// in a primitive: debug builds abort, naming the greenlet and its state;
// release builds ignore it.
TEST_CASE("hub: waking a finished greenlet is reported in debug builds") {
    const auto r = test::run({HELPER_PATH, "wake_dead"});
#ifdef NDEBUG
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ignored\n");
#else
    CHECK(r.signal == SIGABRT);
    CHECK(r.err.find("green: internal error: greenlet finished was woken while dead") != std::string::npos);
#endif
}

// The program exits normally when main returns, whatever greenlets still wait.
TEST_CASE("hub: exit with parked greenlets") {
    const auto r = test::run({HELPER_PATH, "exit_with_parked"});
    CHECK(r.exit_code == 0);
    CHECK(r.signal == 0);
    CHECK(r.out == "bye\n");
}

// Ten thousand greenlets waking in a chain (each sets the Event the next one
// waits on) all run, in order, and the last wakes the main greenlet.
TEST_CASE("hub: ten thousand greenlets waking in a chain") {
    constexpr int n = 10000;
    std::vector<green::Event> events(n + 1);
    std::vector<int> order;
    order.reserve(n);
    std::vector<green::Greenlet<void>> chain;
    for (int i = 0; i < n; ++i)
        chain.push_back(green::spawn([&, i] {
            events[i].wait();
            order.push_back(i);
            events[i + 1].set();
        }));
    events[0].set();
    CHECK(events[n].wait(10s));
    green::joinall(chain);
    REQUIRE(order.size() == n);
    for (int i = 0; i < n; ++i) REQUIRE(order[i] == i);
}

// Greenlets that keep each other busy do not starve the loop: the hub polls it
// at least once per 256 switches (docs/design.md), so a descriptor that became
// readable wakes its waiter within that many of a busy greenlet's turns.
// Counted in turns from the moment the write returned, not in time: a slow or
// loaded machine can only make the count smaller.
TEST_CASE("hub: busy greenlets do not starve the loop") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    std::atomic<bool> stop{false};
    std::atomic<long> spins{0};
    auto busy = green::spawn([&] {
        while (!stop) {
            spins.fetch_add(1, std::memory_order_relaxed);
            green::yield();
        }
    });
    long spins_at_write = 0;
    std::thread writer([&] {
        while (spins.load() < 1000) std::this_thread::yield();  // the busy greenlet is at it
        REQUIRE(::write(fds[1], "x", 1) == 1);
        spins_at_write = spins.load();
    });
    CHECK(green::wait_readable(fds[0], 10s));
    const long spins_at_wake = spins.load();
    writer.join();
    stop = true;
    busy.join();
    CHECK(spins_at_wake - spins_at_write <= 256 + 2);
    ::close(fds[0]);
    ::close(fds[1]);
}

// GREEN_MONITOR_MS reports a greenlet that keeps its hub busy without switching,
// by name and with a backtrace; without it nothing is reported.
TEST_CASE("hub: the monitor reports a blocking greenlet") {
    auto r = test::run({HELPER_PATH, "spin"}, {"GREEN_MONITOR_MS=50"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "done\n");
    CHECK(r.err.find("green: monitor: greenlet spinner has kept its hub busy for more than 50 ms") != std::string::npos);
    CHECK(r.err.find("core_helper") != std::string::npos);  // a backtrace frame
    auto quiet = test::run({HELPER_PATH, "spin"});
    CHECK(quiet.err.find("monitor") == std::string::npos);
    auto bad = test::run({HELPER_PATH, "spin"}, {"GREEN_MONITOR_MS=often"});
    CHECK(bad.err.find("ignoring GREEN_MONITOR_MS='often'") != std::string::npos);
}
