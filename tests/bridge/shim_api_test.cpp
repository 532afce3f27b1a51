// The runtime's side of the shim's extern "C" boundary (bridge/shim_api.hpp):
// an exception caught there is delivered again only if it is an interruption
// the runtime threw (a kill, an expired Timeout); any other exception is an
// error for the caller to report, and never comes back as a kill.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <exception>
#include <new>
#include <stdexcept>

#include "shim_api.hpp"

using namespace std::chrono_literals;
namespace api = green::detail::shim_api;

namespace {

// What a hook does: calls into the runtime, catches whatever comes out.
template <class F>
std::exception_ptr caught(F&& f) {
    try {
        f();
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

}  // namespace

// A kill caught at the boundary is delivered again at the next suspension
// point: the same exception, once.
TEST_CASE("shim_api: a kill caught at the boundary comes back") {
    bool redelivered = false, once = false;
    auto g = green::spawn([&] {
        green::Event never;
        const auto e = caught([&] { never.wait(); });
        REQUIRE(e);
        CHECK(api::deliver_later(e));
        try {
            green::yield();
        } catch (const green::GreenletExit&) {
            redelivered = std::current_exception() == e;
        }
        green::yield();  // nothing is pending any more
        once = true;
    });
    green::yield();
    g.kill();
    CHECK(redelivered);
    CHECK(once);
}

// An expired Timeout caught at the boundary comes back as that Timeout's
// TimeoutError.
TEST_CASE("shim_api: a Timeout caught at the boundary comes back") {
    const green::Timeout* source = nullptr;
    const green::Timeout* again = nullptr;
    try {
        green::Timeout t(10ms);
        source = &t;
        const auto e = caught([] { green::sleep(10s); });
        REQUIRE(e);
        CHECK(api::deliver_later(e));
        green::yield();
    } catch (const green::TimeoutError& x) {
        again = x.source();
    }
    CHECK(again == source);
}

// Errors are not interruptions: a bad_alloc, a runtime_error, or a TimeoutError
// the program threw itself is left to the caller, and the greenlet goes on.
TEST_CASE("shim_api: an error caught at the boundary is not re-armed as a kill") {
    auto g = green::spawn([] {
        for (auto e : {caught([] { throw std::bad_alloc(); }), caught([] { throw std::runtime_error("no resolver"); }),
                       caught([] { throw green::TimeoutError(); })}) {
            REQUIRE(e);
            CHECK_FALSE(api::deliver_later(e));
        }
        green::sleep(1ms);  // no kill pending
        green::yield();
        return 7;
    });
    CHECK(g.get() == 7);
    CHECK_FALSE(g.killed());
}
