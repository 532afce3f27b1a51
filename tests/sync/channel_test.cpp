#include <doctest/doctest.h>

#include <green/green.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;

// put waits until a getter has taken the item (a rendezvous).
TEST_CASE("channel: put waits for a getter") {
    green::Channel<std::string> ch;
    bool put_returned = false;
    auto sender = green::spawn([&] {
        ch.put("ping");
        put_returned = true;
    });
    green::sleep(5ms);
    CHECK_FALSE(put_returned);
    CHECK(ch.size() == 0);
    CHECK(ch.get() == "ping");
    sender.join();
    CHECK(put_returned);
}

// get waits for a putter; try_put succeeds only when a getter waits.
TEST_CASE("channel: get waits, try_put needs a getter") {
    green::Channel<int> ch;
    CHECK_FALSE(ch.try_put(1));
    auto receiver = green::spawn([&] { return ch.get(); });
    green::yield();
    CHECK(ch.try_put(9));
    CHECK(receiver.get() == 9);
}

// Both sides time out with TimeoutError.
TEST_CASE("channel: timeouts") {
    green::Channel<int> ch;
    CHECK_THROWS_AS(ch.put(1, 10ms), green::TimeoutError);
    CHECK_THROWS_AS(ch.get(10ms), green::TimeoutError);
}

// A killed sender's item is never delivered.
TEST_CASE("channel: kill of a waiting sender") {
    green::Channel<int> ch;
    auto sender = green::spawn([&] { ch.put(1); });
    green::yield();
    sender.kill();
    CHECK_FALSE(ch.try_get().has_value());
}

// close wakes both sides; range-for stops.
TEST_CASE("channel: close and range-for") {
    green::Channel<int> ch;
    auto sender = green::spawn([&] {
        for (int i = 0; i < 3; ++i) ch.put(i);
        ch.close();
    });
    std::vector<int> got;
    for (int x : ch) got.push_back(x);
    CHECK(got == std::vector<int>{0, 1, 2});
    sender.join();
    CHECK_THROWS_AS(ch.put(1), green::ClosedError);
}
