#include <doctest/doctest.h>

#include <green/green.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// spawn runs the function with copies of its arguments and get() returns its value.
TEST_CASE("greenlet: get returns the value") {
    auto g = green::spawn([](int a, int b) { return a + b; }, 2, 3);
    CHECK_FALSE(g.ready());
    CHECK(g.get() == 5);
    CHECK(g.ready());
    CHECK(g.successful());
    CHECK_FALSE(g.killed());
    CHECK(g.exception() == nullptr);
}

// A greenlet first runs when its spawner blocks, then in spawn order.
TEST_CASE("greenlet: spawned greenlets run in order when the spawner blocks") {
    std::vector<int> order;
    auto a = green::spawn([&] { order.push_back(1); });
    auto b = green::spawn([&] { order.push_back(2); });
    CHECK(order.empty());
    green::joinall({a, b});
    CHECK(order == std::vector<int>{1, 2});
}

// get() rethrows the exception the greenlet ended with; the process survives and
// the greenlet counts as failed.
TEST_CASE("greenlet: get rethrows the greenlet's exception") {
    auto g = green::spawn([]() -> int { throw std::runtime_error("boom"); });
    CHECK_THROWS_WITH_AS(g.get(), "boom", std::runtime_error);
    CHECK(g.ready());
    CHECK_FALSE(g.successful());
    CHECK(g.exception() != nullptr);
}

// join with a timeout returns false while the greenlet runs, true once it ended.
TEST_CASE("greenlet: join times out, then succeeds") {
    auto g = green::spawn([] { green::sleep(50ms); });
    CHECK_FALSE(g.join(5ms));
    CHECK(g.join(2s));
    CHECK(g.join(0s));
}

// get(timeout) throws TimeoutError while the result is not there yet.
TEST_CASE("greenlet: get with timeout throws TimeoutError") {
    auto g = green::spawn([] {
        green::sleep(100ms);
        return 1;
    });
    CHECK_THROWS_AS(g.get(5ms), green::TimeoutError);
    CHECK(g.get(2s) == 1);
}

// kill throws GreenletExit at the suspension point: destructors on the greenlet's
// stack run, and kill (blocking by default) returns once it is dead.
TEST_CASE("greenlet: kill unwinds the greenlet's stack") {
    auto flag = std::make_shared<int>(0);
    struct Guard {
        std::shared_ptr<int> f;
        ~Guard() { *f = 1; }
    };
    auto g = green::spawn([flag] {
        Guard guard{flag};
        green::sleep(10s);
    });
    green::yield();  // let it start and park in sleep
    test::Stopwatch w;
    g.kill();
    CHECK(*flag == 1);
    CHECK(g.ready());
    CHECK(g.killed());
    CHECK(g.successful());  // as in gevent, a kill is not a failure
    CHECK(g.exception() == nullptr);
    CHECK_THROWS_AS(g.get(), green::GreenletExit);
    CHECK(w.seconds() < 2);
}

// A greenlet killed before it started never runs.
TEST_CASE("greenlet: kill before start means it never runs") {
    bool ran = false;
    auto g = green::spawn([&] { ran = true; });
    g.kill();
    CHECK(g.ready());
    CHECK(g.killed());
    green::sleep(1ms);
    CHECK_FALSE(ran);
}

// kill(block=false) returns at once; the greenlet dies when it next runs.
TEST_CASE("greenlet: kill without blocking") {
    bool after_sleep = false;
    auto g = green::spawn([&] {
        green::sleep(10s);
        after_sleep = true;
    });
    green::yield();
    g.kill(std::make_exception_ptr(green::GreenletExit{}), false);
    CHECK_FALSE(g.ready());
    CHECK(g.join(1s));
    CHECK(g.killed());
    CHECK_FALSE(after_sleep);
}

// kill with a custom exception ends the greenlet with that exception.
TEST_CASE("greenlet: kill with a custom exception") {
    auto g = green::spawn([] { green::sleep(10s); });
    green::yield();
    g.kill(std::make_exception_ptr(std::runtime_error("stop")), true);
    CHECK(g.ready());
    CHECK_FALSE(g.killed());
    CHECK_FALSE(g.successful());
    CHECK_THROWS_WITH(g.get(), "stop");
}

// Killing a finished greenlet changes nothing.
TEST_CASE("greenlet: kill of a dead greenlet is a no-op") {
    auto g = green::spawn([] { return 7; });
    CHECK(g.get() == 7);
    g.kill();
    CHECK(g.get() == 7);
    CHECK_FALSE(g.killed());
}

// A greenlet that kills itself gets the exception at once.
TEST_CASE("greenlet: self-kill throws immediately") {
    bool after = false;
    auto g = green::spawn([&] {
        green::getcurrent().kill();
        after = true;
    });
    g.join();
    CHECK(g.killed());
    CHECK_FALSE(after);
}

// A kill that arrives while the greenlet is already unwinding does not terminate
// the process: a destructor that blocks finishes its wait.
TEST_CASE("greenlet: kill during unwinding waits for the destructor") {
    bool cleaned = false;
    struct BlockingCleanup {
        bool* done;
        ~BlockingCleanup() {
            green::sleep(20ms);
            *done = true;
        }
    };
    auto g = green::spawn([&] {
        BlockingCleanup c{&cleaned};
        throw std::runtime_error("first");
    });
    green::yield();  // g is now in its destructor's sleep, unwinding
    g.kill();
    CHECK(cleaned);
    CHECK(g.ready());
}

// A greenlet cannot join itself; that is an error, not a hang.
TEST_CASE("greenlet: joining yourself is a logic_error") {
    auto g = green::spawn([] { green::getcurrent().join(); });
    CHECK_THROWS_AS(g.get(), std::logic_error);
}

// Operations on an empty handle throw instead of crashing.
TEST_CASE("greenlet: empty handle throws logic_error") {
    green::Greenlet<int> g;
    CHECK_FALSE(static_cast<bool>(g));
    CHECK_THROWS_AS(g.get(), std::logic_error);
    CHECK_THROWS_AS(g.join(), std::logic_error);
    CHECK_THROWS_AS(g.kill(), std::logic_error);
}

// Negative timeouts are rejected with invalid_argument.
TEST_CASE("greenlet: negative timeouts are invalid") {
    auto g = green::spawn([] { green::sleep(1ms); });
    CHECK_THROWS_AS(g.join(-1s), std::invalid_argument);
    CHECK_THROWS_AS(g.get(-1ms), std::invalid_argument);
    CHECK_THROWS_AS(green::spawn_later(-1s, [] {}), std::invalid_argument);
    g.join();
}

// spawn_later starts the greenlet only after its delay.
TEST_CASE("greenlet: spawn_later waits for its delay") {
    test::Stopwatch w;
    double started = -1;
    auto g = green::spawn_later(50ms, [&] { started = w.seconds(); });
    green::sleep(10ms);
    CHECK(started < 0);
    g.join();
    CHECK(started >= 0.045);
    CHECK(started < 2);
}

// A greenlet killed while its spawn_later delay runs never starts.
TEST_CASE("greenlet: kill during spawn_later's delay") {
    bool ran = false;
    auto g = green::spawn_later(20ms, [&] { ran = true; });
    g.kill();
    green::sleep(50ms);
    CHECK_FALSE(ran);
    CHECK(g.killed());
}

// link runs its callback in a new greenlet after the linked one ends; rawlink
// runs in the hub; both receive the handle.
TEST_CASE("greenlet: link and rawlink run after the end") {
    std::vector<std::string> seen;
    auto g = green::spawn([] { return 1; });
    g.link([&](green::AnyGreenlet h) {
        green::sleep(1ms);  // a link callback may block
        seen.push_back("link " + std::to_string(h.ready()));
    });
    g.rawlink([&](green::AnyGreenlet h) { seen.push_back("raw " + std::to_string(h.ready())); });
    g.join();
    green::sleep(20ms);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "raw 1");
    CHECK(seen[1] == "link 1");
}

// Linking to a greenlet that already ended still runs the callback.
TEST_CASE("greenlet: link to a dead greenlet runs soon") {
    auto g = green::spawn([] {});
    g.join();
    bool called = false;
    g.link([&](green::AnyGreenlet) { called = true; });
    green::sleep(5ms);
    CHECK(called);
}

// Blocking inside a rawlink callback (in the hub) is refused with logic_error.
TEST_CASE("greenlet: blocking in the hub is a logic_error") {
    std::string error;
    auto g = green::spawn([] {});
    g.rawlink([&](green::AnyGreenlet) {
        try {
            green::sleep(1ms);
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    });
    g.join();
    green::sleep(5ms);
    CHECK(error.find("hub") != std::string::npos);
}

// Names default to Greenlet-<id> and can be set at spawn or later.
TEST_CASE("greenlet: names") {
    auto g = green::spawn([] {});
    CHECK(g.name() == "Greenlet-" + std::to_string(g.id()));
    auto h = green::spawn(green::SpawnOptions{.name = "worker"}, [] {});
    CHECK(h.name() == "worker");
    h.set_name("renamed");
    CHECK(h.name() == "renamed");
    CHECK(green::getcurrent().name() == "main");
    green::joinall({g, h});
}

// Bad stack sizes are refused before anything runs.
TEST_CASE("greenlet: stack size out of range is invalid") {
    CHECK_THROWS_AS(green::spawn(green::SpawnOptions{.stack_size = 1024}, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(green::spawn(green::SpawnOptions{.stack_size = std::size_t{4} << 30}, [] {}), std::invalid_argument);
    auto g = green::spawn(green::SpawnOptions{.stack_size = 1 << 20}, [] {
        char big[512 * 1024];
        big[0] = 1;
        asm volatile("" : : "r"(big) : "memory");
        return 1;
    });
    CHECK(g.get() == 1);
}

// Handles are shared: copies see the same greenlet, and the result outlives the
// greenlet's stack.
TEST_CASE("greenlet: handles share one greenlet") {
    green::Greenlet<std::string> a = green::spawn([] { return std::string(1000, 'x'); });
    green::Greenlet<std::string> b = a;
    green::AnyGreenlet any = a;
    CHECK(a == b);
    CHECK(any == a);
    CHECK(b.get().size() == 1000);
    CHECK(a.get() == b.get());
}

// Arguments are copied into the greenlet (std::ref passes a reference), and
// move-only arguments are accepted.
TEST_CASE("greenlet: argument passing") {
    int counter = 0;
    green::spawn([](int& c) { ++c; }, std::ref(counter)).join();
    CHECK(counter == 1);
    auto p = std::make_unique<int>(42);
    auto g = green::spawn([](std::unique_ptr<int> q) { return *q; }, std::move(p));
    CHECK(g.get() == 42);
}

// Many greenlets with results of different types can be joined together.
TEST_CASE("greenlet: mixed result types in one joinall") {
    std::vector<green::AnyGreenlet> all;
    auto i = green::spawn([] { return 1; });
    auto s = green::spawn([] { return std::string("two"); });
    auto v = green::spawn([] {});
    all = {i, s, v};
    CHECK(green::joinall(all));
    CHECK(i.get() == 1);
    CHECK(s.get() == "two");
}

// The exception state is per greenlet: a greenlet that switches away inside a
// catch block still sees its own exception when it resumes.
TEST_CASE("greenlet: exception state survives switches") {
    std::string seen_a, seen_b;
    auto a = green::spawn([&] {
        try {
            throw std::runtime_error("a");
        } catch (const std::exception&) {
            green::sleep(10ms);
            try {
                throw;
            } catch (const std::exception& e) {
                seen_a = e.what();
            }
        }
    });
    auto b = green::spawn([&] {
        try {
            throw std::runtime_error("b");
        } catch (const std::exception&) {
            green::sleep(5ms);
            CHECK(std::uncaught_exceptions() == 0);
            seen_b = "caught";
        }
    });
    green::joinall({a, b});
    CHECK(seen_a == "a");
    CHECK(seen_b == "caught");
}
