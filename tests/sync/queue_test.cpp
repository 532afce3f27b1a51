#include <doctest/doctest.h>

#include <green/green.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

// Items come out in FIFO order; a waiting getter receives an item directly.
TEST_CASE("queue: FIFO and waiting getters") {
    green::Queue<int> q;
    std::vector<int> got;
    auto consumer = green::spawn([&] {
        for (int i = 0; i < 3; ++i) got.push_back(q.get());
    });
    green::yield();
    q.put(1);
    q.put(2);
    q.put(3);
    consumer.join();
    CHECK(got == std::vector<int>{1, 2, 3});
    CHECK(q.empty());
}

// A bounded queue makes put wait while it is full.
TEST_CASE("queue: bounded put waits") {
    green::Queue<int> q(2);
    q.put(1);
    q.put(2);
    CHECK(q.full());
    CHECK_FALSE(q.try_put(3));
    auto producer = green::spawn([&] { q.put(3); });
    green::yield();
    CHECK_FALSE(producer.ready());
    CHECK(q.get() == 1);  // frees a slot: the waiting putter's item moves in
    producer.join();
    CHECK(q.size() == 2);
    CHECK(q.get() == 2);
    CHECK(q.get() == 3);
}

// get and put time out with TimeoutError, and the item stays with the caller.
TEST_CASE("queue: timeouts keep the item") {
    green::Queue<std::string> q(1);
    CHECK_THROWS_AS(q.get(10ms), green::TimeoutError);
    q.put("first");
    std::string item = "second";
    CHECK_THROWS_AS(q.put(std::move(item), 10ms), green::TimeoutError);
    CHECK(item == "second");
    CHECK(q.try_get() == std::optional<std::string>("first"));
    CHECK(q.try_get() == std::nullopt);
}

// close wakes every waiter with ClosedError; remaining items still drain.
TEST_CASE("queue: close wakes waiters and drains") {
    green::Queue<int> q;
    auto getter = green::spawn([&] { return q.get(); });
    green::yield();
    q.close();
    CHECK_THROWS_AS(getter.get(), green::ClosedError);
    CHECK_THROWS_AS(q.put(1), green::ClosedError);

    green::Queue<int> r(1);
    r.put(7);
    auto putter = green::spawn([&] { r.put(8); });
    green::yield();
    r.close();
    CHECK_THROWS_AS(putter.get(), green::ClosedError);
    CHECK(r.get() == 7);
    CHECK_THROWS_AS(r.get(), green::ClosedError);
}

// Range-for takes items until the queue is closed and drained.
TEST_CASE("queue: range-for until closed") {
    green::Queue<int> q;
    auto producer = green::spawn([&] {
        for (int i = 1; i <= 5; ++i) {
            q.put(i);
            green::sleep(1ms);
        }
        q.close();
    });
    int sum = 0;
    for (int x : q) sum += x;
    CHECK(sum == 15);
    producer.join();
}

// A getter killed while waiting leaves the queue usable and loses no item.
TEST_CASE("queue: kill of a waiting getter") {
    green::Queue<int> q;
    auto victim = green::spawn([&] { return q.get(); });
    green::yield();
    victim.kill();
    q.put(1);
    CHECK(q.get() == 1);
}

// An item handed to a getter just before it is killed is still returned by that
// get; the kill arrives at the next wait.
TEST_CASE("queue: handoff beats a racing kill") {
    green::Queue<int> q;
    int received = 0;
    auto g = green::spawn([&] {
        received = q.get();
        green::sleep(1s);
    });
    green::yield();
    q.put(42);
    g.kill(std::make_exception_ptr(green::GreenletExit{}), false);
    g.join();
    CHECK(received == 42);
}

// A putter killed while waiting keeps its item: nothing enters the queue.
TEST_CASE("queue: kill of a waiting putter") {
    green::Queue<std::unique_ptr<int>> q(1);
    q.put(std::make_unique<int>(1));
    auto putter = green::spawn([&] { q.put(std::make_unique<int>(2)); });
    green::yield();
    putter.kill();
    CHECK(q.size() == 1);
    CHECK(*q.get() == 1);
    CHECK(q.empty());
}

// Destroying a queue under waiters wakes them with ClosedError.
TEST_CASE("queue: destroyed under a waiter") {
    auto q = std::make_unique<green::Queue<int>>();
    auto g = green::spawn([&] { return q->get(); });
    green::yield();
    q.reset();
    CHECK_THROWS_AS(g.get(), green::ClosedError);
}

// LifoQueue returns the newest item first.
TEST_CASE("queue: LifoQueue") {
    green::LifoQueue<int> q;
    for (int i : {1, 2, 3}) q.put(i);
    CHECK(q.get() == 3);
    CHECK(q.get() == 2);
    CHECK(q.get() == 1);
}

// PriorityQueue returns the smallest item first, or by a custom comparison.
TEST_CASE("queue: PriorityQueue") {
    green::PriorityQueue<int> q;
    for (int i : {5, 1, 4, 2, 3}) q.put(i);
    std::vector<int> out;
    while (auto x = q.try_get()) out.push_back(*x);
    CHECK(out == std::vector<int>{1, 2, 3, 4, 5});
    green::PriorityQueue<int, std::greater<int>> maxq;
    for (int i : {5, 1, 4}) maxq.put(i);
    CHECK(maxq.get() == 5);
}

// JoinableQueue: join waits until every item put was marked done.
TEST_CASE("queue: JoinableQueue task_done and join") {
    green::JoinableQueue<int> q;
    int processed = 0;
    auto worker = green::spawn([&] {
        for (;;) {
            q.get();
            green::sleep(1ms);
            ++processed;
            q.task_done();
        }
    });
    for (int i = 0; i < 5; ++i) q.put(i);
    CHECK(q.unfinished_tasks() == 5);
    CHECK_FALSE(q.join(0s));
    CHECK(q.join(2s));
    CHECK(processed == 5);
    worker.kill();
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
}

// A negative timeout is rejected without losing the item.
TEST_CASE("queue: negative timeout") {
    green::Queue<int> q;
    CHECK_THROWS_AS(q.get(-1ms), std::invalid_argument);
    CHECK_THROWS_AS(q.put(1, -1ms), std::invalid_argument);
    CHECK(q.empty());
}

// Many producers and consumers pass every item exactly once.
TEST_CASE("queue: producers and consumers") {
    green::Queue<int> q(8);
    long sum = 0;
    std::vector<green::Greenlet<void>> producers, consumers;
    for (int p = 0; p < 4; ++p)
        producers.push_back(green::spawn([&, p] {
            for (int i = 0; i < 250; ++i) q.put(p * 1000 + i);
        }));
    for (int c = 0; c < 3; ++c)
        consumers.push_back(green::spawn([&] {
            for (int x : q) sum += x;
        }));
    green::joinall(producers);
    q.close();
    green::joinall(consumers);
    long expected = 0;
    for (int p = 0; p < 4; ++p)
        for (int i = 0; i < 250; ++i) expected += p * 1000 + i;
    CHECK(sum == expected);
}
