#include <doctest/doctest.h>

#include <green/green.hpp>

#include <memory>
#include <string>

using namespace std::chrono_literals;

// Each greenlet sees its own value, default-constructed on first access.
TEST_CASE("local: one value per greenlet") {
    green::Local<std::string> name;
    name.set("main");
    auto a = green::spawn([&] {
        CHECK(name.get().empty());
        name.set("a");
        green::sleep(5ms);
        return name.get();
    });
    auto b = green::spawn([&] {
        name.set("b");
        green::sleep(1ms);
        return *name;
    });
    CHECK(a.get() == "a");
    CHECK(b.get() == "b");
    CHECK(name.get() == "main");
}

// A greenlet's value is destroyed when that greenlet ends, also when killed.
TEST_CASE("local: destroyed when the greenlet ends") {
    struct Tracker {
        std::shared_ptr<int> count = std::make_shared<int>(0);
    };
    auto destroyed = std::make_shared<int>(0);
    struct Value {
        std::shared_ptr<int> d;
        ~Value() {
            if (d) ++*d;
        }
    };
    green::Local<Value> local;
    auto g = green::spawn([&] { local->d = destroyed; });
    g.join();
    CHECK(*destroyed == 1);
    auto k = green::spawn([&] {
        local->d = destroyed;
        green::sleep(10s);
    });
    green::yield();
    k.kill();
    CHECK(*destroyed == 2);
}

// Locals are independent of each other and has_value reports presence.
TEST_CASE("local: independent instances") {
    green::Local<int> x, y;
    CHECK_FALSE(x.has_value());
    x.set(1);
    CHECK(x.has_value());
    CHECK_FALSE(y.has_value());
    CHECK(y.get() == 0);
}

// Touching a Local from the hub (a rawlink callback) is an error.
TEST_CASE("local: not available in the hub") {
    green::Local<int> x;
    bool refused = false;
    auto g = green::spawn([] {});
    g.rawlink([&](green::AnyGreenlet) {
        try {
            x.get();
        } catch (const std::logic_error&) {
            refused = true;
        }
    });
    g.join();
    green::sleep(2ms);
    CHECK(refused);
}
