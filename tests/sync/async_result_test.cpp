#include <doctest/doctest.h>

#include <green/green.hpp>

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

// get waits for the value another greenlet sets.
TEST_CASE("async_result: get waits for set") {
    green::AsyncResult<std::string> r;
    auto g = green::spawn([&] {
        green::sleep(5ms);
        r.set("hello");
    });
    CHECK_FALSE(r.ready());
    CHECK(r.get() == "hello");
    CHECK(r.ready());
    CHECK(r.successful());
    g.join();
}

// set_exception makes get rethrow in every waiter.
TEST_CASE("async_result: exception") {
    green::AsyncResult<int> r;
    auto g = green::spawn([&] { return r.get(); });
    green::yield();
    r.set_exception(std::make_exception_ptr(std::runtime_error("nope")));
    CHECK_THROWS_WITH(g.get(), "nope");
    CHECK_FALSE(r.successful());
    CHECK(r.exception() != nullptr);
}

// get with a timeout throws TimeoutError; wait returns false.
TEST_CASE("async_result: timeout") {
    green::AsyncResult<int> r;
    CHECK_THROWS_AS(r.get(10ms), green::TimeoutError);
    CHECK_FALSE(r.wait(10ms));
    r.set(1);
    CHECK(r.get(0s) == 1);
}

// A greenlet waiting in get can be killed.
TEST_CASE("async_result: kill of a waiter") {
    green::AsyncResult<int> r;
    auto g = green::spawn([&] { return r.get(); });
    green::yield();
    g.kill();
    CHECK(g.killed());
}

// AsyncResult<void> signals completion without a value.
TEST_CASE("async_result: void") {
    green::AsyncResult<void> r;
    auto g = green::spawn([&] { r.set(); });
    r.get();
    CHECK(r.ready());
    g.join();
    CHECK_THROWS_AS(r.get(-1s), std::invalid_argument);
}
