// Carriers (green/carriers.hpp): greenlets started on other OS threads' hubs
// with run_on / spawn_on, and the parking lot's cross-carrier wake-ups under
// contention (what the shim's pthread objects are built on). Each case runs in
// a process of its own: carriers, once started, last until the process ends.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "shim_api.hpp"
#include "support/support.hpp"

using namespace std::chrono_literals;
namespace api = green::detail::shim_api;

namespace {

constexpr std::size_t kCarriers = 4;

// A lock on one futex word (0 free, 1 held, 2 held and contended) whose
// waiters park in the runtime's parking lot, each on its own carrier's hub.
class LotMutex {
public:
    void lock() {
        std::uint32_t c = 0;
        if (word_.compare_exchange_strong(c, 1)) return;
        if (c != 2) c = word_.exchange(2);
        while (c != 0) {
            api::park(&word_, [](void* w) { return static_cast<std::atomic<std::uint32_t>*>(w)->load() == 2; },
                      nullptr, &word_, green::detail::Deadline(), "LotMutex", true);
            c = word_.exchange(2);
        }
    }
    void unlock() {
        if (word_.exchange(0) == 2) api::unpark(&word_, 1, 0, false);
    }

private:
    std::atomic<std::uint32_t> word_{0};
};

// A counting semaphore on the parking lot: no post is ever lost.
class LotSemaphore {
public:
    void post() {
        count_.fetch_add(1);
        api::unpark(&count_, 1, 0, false);
    }
    void wait() {
        for (;;) {
            std::uint32_t c = count_.load();
            while (c != 0)
                if (count_.compare_exchange_weak(c, c - 1)) return;
            api::park(&count_, [](void* w) { return static_cast<std::atomic<std::uint32_t>*>(w)->load() == 0; },
                      nullptr, &count_, green::detail::Deadline(), "LotSemaphore", true);
        }
    }

private:
    std::atomic<std::uint32_t> count_{0};
};

}  // namespace

TEST_CASE("carriers: start_carriers makes the caller carrier 0 and starts the rest") {
    CHECK(green::carrier_count() == 0);
    CHECK_FALSE(green::current_carrier().has_value());
    CHECK(green::start_carriers(kCarriers) == kCarriers);
    CHECK(green::carrier_count() == kCarriers);
    CHECK(green::current_carrier() == std::optional<std::size_t>(0));
    CHECK(green::start_carriers(2) == kCarriers);  // never fewer
    for (std::size_t i = 0; i < kCarriers; ++i) {
        const auto where = green::run_on(i, [] { return std::make_pair(green::current_carrier(), std::this_thread::get_id()); });
        CHECK(where.first == std::optional<std::size_t>(i));
        CHECK((where.second == std::this_thread::get_id()) == (i == 0));
    }
}

// Carriers with nothing to run sleep in their loops: half a second of three
// idle carriers costs (far) less CPU time than one of them spinning would.
TEST_CASE("carriers: idle carriers sleep") {
    green::start_carriers(kCarriers);
    const auto cpu = [] {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    const double before = cpu();
    green::sleep(500ms);
    CHECK(cpu() - before < 0.2);
}

TEST_CASE("carriers: run_on returns the value and rethrows the exception") {
    green::start_carriers(2);
    CHECK(green::run_on(1, [](int a, int b) { return a * b; }, 6, 7) == 42);
    CHECK(green::run_on(0, [](std::string s) { return s + "!"; }, std::string("here")) == "here!");
    CHECK_THROWS_WITH_AS(green::run_on(1, [] { throw std::runtime_error("from carrier 1"); }), "from carrier 1",
                         std::runtime_error);
    green::run_on(1, [] { green::sleep(10ms); });  // void, and it may switch there
}

TEST_CASE("carriers: a thousand spawn_on greenlets over four carriers") {
    green::start_carriers(kCarriers);
    std::atomic<int> on[kCarriers] = {};
    std::vector<green::Greenlet<std::size_t>> gs;
    for (int i = 0; i < 1000; ++i)
        gs.push_back(green::spawn_on(static_cast<std::size_t>(i) % kCarriers, [&on, i] {
            green::sleep(std::chrono::milliseconds(i % 7));
            const std::size_t c = *green::current_carrier();
            on[c].fetch_add(1);
            return c;
        }));
    REQUIRE(green::joinall(gs, 60s));
    for (std::size_t i = 0; i < gs.size(); ++i) CHECK(gs[i].get() == i % kCarriers);
    for (auto& n : on) CHECK(n.load() == 250);
}

TEST_CASE("carriers: a Timeout around run_on ends the wait and the other greenlet") {
    green::start_carriers(2);
    std::atomic<bool> ended{false};
    struct Flag {
        std::atomic<bool>* f;
        ~Flag() { f->store(true); }
    };
    test::Stopwatch clock;
    CHECK_THROWS_AS(([&] {
                        green::Timeout t(50ms);
                        green::run_on(1, [&ended] {
                            Flag flag{&ended};
                            green::sleep(100s);
                        });
                    }()),
                    green::TimeoutError);
    CHECK(clock.seconds() < 5.0);
    while (!ended.load() && clock.seconds() < 10.0) green::sleep(1ms);  // it unwinds on its own carrier
    CHECK(ended.load());
}

TEST_CASE("carriers: killing a spawn_on greenlet kills its greenlet on the other carrier") {
    green::start_carriers(3);
    std::atomic<int> started{0}, unwound{0};
    auto g = green::spawn_on(2, [&] {
        struct Count {
            std::atomic<int>* n;
            ~Count() { n->fetch_add(1); }
        } count{&unwound};
        started.fetch_add(1);
        green::sleep(100s);
    });
    test::Stopwatch clock;
    while (started.load() == 0 && clock.seconds() < 10.0) green::sleep(1ms);
    REQUIRE(started.load() == 1);
    g.kill();
    CHECK(g.ready());
    while (unwound.load() == 0 && clock.seconds() < 10.0) green::sleep(1ms);
    CHECK(unwound.load() == 1);
    CHECK(clock.seconds() < 10.0);
}

TEST_CASE("carriers: bad carrier numbers are errors") {
    CHECK_THROWS_AS(green::run_on(0, [] {}), std::out_of_range);  // none started yet
    CHECK_THROWS_AS(green::start_carriers(0), std::invalid_argument);
    CHECK_THROWS_AS(green::start_carriers(257), std::invalid_argument);
    CHECK(green::carrier_count() == 0);
    green::start_carriers(2);
    CHECK_THROWS_AS(green::run_on(2, [] {}), std::out_of_range);
    auto g = green::spawn_on(7, [] { return 1; });
    CHECK_THROWS_AS(g.get(), std::out_of_range);
    CHECK(green::run_on(1, [] { return 1; }) == 1);  // nothing was lost
}

// Greenlets of every carrier contend on one lock and pass a token around a
// ring: the counts come out exact and no wake-up across carriers is lost.
TEST_CASE("carriers: the parking lot across carriers loses no wake-up") {
    green::start_carriers(kCarriers);
    const int kWorkers = test::kThreadSanitizer ? 200 : 1000, kRounds = test::kThreadSanitizer ? 20 : 500;
    LotMutex mutex;
    long counter = 0;  // guarded by mutex, touched from every carrier
    std::vector<LotSemaphore> ring(static_cast<std::size_t>(kWorkers));
    std::atomic<int> laps{0};
    std::vector<green::Greenlet<void>> gs;
    for (int i = 0; i < kWorkers; ++i)
        gs.push_back(green::spawn_on(static_cast<std::size_t>(i) % kCarriers, [&, i] {
            for (int r = 0; r < kRounds; ++r) {
                mutex.lock();
                const long seen = counter;
                if (r % 8 == 0) green::yield();  // hold it across a switch now and then
                counter = seen + 1;
                mutex.unlock();
            }
            // The ring: worker i waits for i-1 (worker 0 starts), three laps.
            for (int lap = 0; lap < 3; ++lap) {
                if (i != 0 || lap != 0) ring[static_cast<std::size_t>(i)].wait();
                if (i == kWorkers - 1) laps.fetch_add(1);
                ring[static_cast<std::size_t>((i + 1) % kWorkers)].post();
            }
        }));
    REQUIRE(green::joinall(gs, 120s));
    for (auto& g : gs) g.get();
    CHECK(counter == static_cast<long>(kWorkers) * kRounds);
    CHECK(laps.load() == 3);
}

// Carrier 0 is woken from carrier 1 in two ways at once: run_on's results come
// home through its inbox, and a partner's posts unpark its greenlet. A hub that
// lost a wake-up where the two crossed would never wake again for either.
TEST_CASE("carriers: wake-ups of two kinds that cross are never lost") {
    green::start_carriers(2);
    const int kRounds = test::kThreadSanitizer ? 5000 : 20000;
    LotSemaphore ping, pong;
    std::atomic<bool> stop{false};
    std::atomic<long> calls{0};
    auto caller = green::spawn([&] {
        while (!stop.load()) {
            green::run_on(1, [] {});
            calls.fetch_add(1);
        }
    });
    auto partner = green::spawn_on(1, [&] {
        for (int i = 0; i < kRounds; ++i) {
            ping.wait();
            pong.post();
        }
    });
    auto player = green::spawn([&] {
        for (int i = 0; i < kRounds; ++i) {
            ping.post();
            pong.wait();
        }
        stop.store(true);
    });
    REQUIRE(green::joinall({player, partner, caller}, 20s));
    CHECK(calls.load() > 0);
}

// Carrier 0 is the caller's own hub: its main greenlet may wait for something
// only a greenlet that another thread starts there with run_on(0, ...) will
// do. Waiting for posted work is no deadlock, as on every other carrier.
TEST_CASE("carriers: carrier 0 waits for work another thread will post to it") {
    green::start_carriers(2);
    green::Event done;
    std::thread poster([&done] {
        std::this_thread::sleep_for(200ms);
        green::run_on(0, [&done] { done.set(); });
    });
    CHECK_NOTHROW(done.wait());  // no timeout: no timer keeps the hub's loop alive
    CHECK(done.is_set());
    poster.join();
}
