#include <doctest/doctest.h>

#include <green/green.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// A Pool never runs more than its size at once; spawn waits for a free slot.
TEST_CASE("pool: bounds concurrency") {
    green::Pool pool(3);
    int running = 0, peak = 0;
    for (int i = 0; i < 10; ++i)
        pool.spawn([&] {
            peak = std::max(peak, ++running);
            green::sleep(2ms);
            --running;
        });
    CHECK(pool.join(2s));
    CHECK(peak == 3);
    CHECK(pool.free_count() == 3);
    CHECK(pool.size() == 0);
}

// map keeps the input order whatever the completion order.
TEST_CASE("pool: map keeps input order") {
    green::Pool pool(4);
    std::vector<int> in{30, 10, 20, 5};
    auto out = pool.map(
        [](int ms) {
            green::sleep(std::chrono::milliseconds(ms));
            return ms * 2;
        },
        in);
    CHECK(out == std::vector<int>{60, 20, 40, 10});
}

// map rethrows a failure and kills the rest.
TEST_CASE("pool: map rethrows and kills the rest") {
    green::Pool pool(4);
    int finished = 0;
    std::vector<int> in{1, 2, 3};
    CHECK_THROWS_WITH(pool.map(
                          [&](int x) {
                              if (x == 1) throw std::runtime_error("one");
                              green::sleep(200ms);
                              ++finished;
                              return x;
                          },
                          in),
                      "one");
    green::sleep(250ms);
    CHECK(finished == 0);
}

// imap_unordered yields results as they complete.
TEST_CASE("pool: imap_unordered yields in completion order") {
    green::Pool pool(4);
    std::vector<int> in{30, 10, 20};
    std::vector<int> out;
    for (int r : pool.imap_unordered(
             [](int ms) {
                 green::sleep(std::chrono::milliseconds(ms));
                 return ms;
             },
             in))
        out.push_back(r);
    CHECK(out == std::vector<int>{10, 20, 30});
}

// imap_unordered with a small pool still processes every input.
TEST_CASE("pool: imap_unordered through a small pool") {
    green::Pool pool(2);
    std::vector<int> in(20);
    for (int i = 0; i < 20; ++i) in[i] = i;
    long sum = 0;
    int peak = 0, running = 0;
    for (int r : pool.imap_unordered(
             [&](int x) {
                 peak = std::max(peak, ++running);
                 green::sleep(1ms);
                 --running;
                 return x;
             },
             in))
        sum += r;
    CHECK(sum == 190);
    CHECK(peak <= 2);
}

// Stopping an imap_unordered early kills the work still running.
TEST_CASE("pool: leaving imap_unordered early kills the rest") {
    green::Pool pool(4);
    int finished = 0;
    std::vector<int> in{1, 100, 100};
    {
        auto results = pool.imap_unordered(
            [&](int ms) {
                green::sleep(std::chrono::milliseconds(ms));
                ++finished;
                return ms;
            },
            in);
        auto it = results.begin();
        CHECK(*it == 1);
    }
    green::sleep(150ms);
    CHECK(finished == 1);
    CHECK(pool.size() == 0);
}

// kill ends every member; join with raise_error reports a failure.
TEST_CASE("group: kill and join") {
    green::Group group;
    for (int i = 0; i < 5; ++i) group.spawn([] { green::sleep(100s); });
    CHECK(group.size() == 5);
    CHECK_FALSE(group.join(10ms));
    group.kill();
    CHECK(group.size() == 0);

    group.spawn([] { throw std::runtime_error("member failed"); });
    CHECK_THROWS_WITH(group.join(1s, true), "member failed");
}

// add, discard and contains manage membership of existing greenlets.
TEST_CASE("group: add and discard") {
    green::Group group;
    auto g = green::spawn([] { green::sleep(20ms); });
    group.add(g);
    CHECK(group.contains(g));
    group.add(g);
    CHECK(group.size() == 1);
    group.discard(g);
    CHECK_FALSE(group.contains(g));
    group.add(g);
    CHECK(group.join(1s));
    CHECK_FALSE(group.contains(g));
}

// A Pool's wait_available waits for a slot; a Pool of size 0 is refused.
TEST_CASE("pool: wait_available and bad size") {
    CHECK_THROWS_AS(green::Pool(0), std::invalid_argument);
    green::Pool pool(1);
    pool.spawn([] { green::sleep(30ms); });
    CHECK(pool.full());
    CHECK_FALSE(pool.wait_available(1ms));
    CHECK(pool.wait_available(1s));
    CHECK(pool.free_count() == 1);
}

// A greenlet waiting for a pool slot can be killed and takes no slot.
TEST_CASE("pool: kill while waiting for a slot") {
    green::Pool pool(1);
    pool.spawn([] { green::sleep(50ms); });
    auto spawner = green::spawn([&] { pool.spawn([] {}); });
    green::yield();
    spawner.kill();
    CHECK(pool.join(1s));
    CHECK(pool.free_count() == 1);
}
