#include <doctest/doctest.h>

#include <green/green.hpp>

using namespace std::chrono_literals;

// spawn runs the function and get() returns its value.
TEST_CASE("greenlet: get returns the value") {
    auto g = green::spawn([](int a, int b) { return a + b; }, 2, 3);
    CHECK(g.get() == 5);
    CHECK(g.ready());
    CHECK(g.successful());
}
