// The runtime's side of the shim's extern "C" boundary (bridge/shim_api.hpp):
// an exception caught there is delivered again only if it is an interruption
// the runtime threw (a kill, an expired Timeout); any other exception is an
// error for the caller to report, and never comes back as a kill.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <exception>
#include <future>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

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

namespace {

// The runtime's descriptors that appeared while `make` ran.
template <class F>
std::vector<int> runtime_fds_made_by(F&& make) {
    const auto before = api::runtime_fds_between(0, INT_MAX);
    make();
    std::vector<int> made;
    for (int fd : api::runtime_fds_between(0, INT_MAX))
        if (std::find(before.begin(), before.end(), fd) == before.end()) made.push_back(fd);
    return made;
}

}  // namespace

// A program's dup2 onto the descriptors of another thread's hub, which waits
// in its loop: that hub gives them up when asked (new numbers, the same
// loop), and its greenlet's wait and later waits go on.
TEST_CASE("shim_api: another thread's hub gives up its descriptors while it waits") {
    std::promise<std::vector<int>> made;
    std::promise<void> freed;
    bool slept = false, woke_by_pipe = false;
    std::thread other([&] {
        made.set_value(runtime_fds_made_by([] { green::sleep(0s); }));  // the thread's hub
        green::sleep(300ms);  // in its loop while they are given up
        slept = true;
        int p[2];
        REQUIRE(pipe(p) == 0);
        auto writer = green::spawn([&] {
            green::sleep(10ms);
            (void)!write(p[1], "x", 1);
        });
        woke_by_pipe = green::wait_readable(p[0], 2s);
        writer.join();
        close(p[0]);
        close(p[1]);
    });
    const std::vector<int> fds = made.get_future().get();
    REQUIRE_FALSE(fds.empty());  // its eventfd (its epoll set too, where the shim marks what libev opens)
    for (int fd : fds) {
        CHECK(api::free_runtime_fd(fd));
        CHECK_FALSE(api::is_runtime_fd(fd));
    }
    other.join();
    CHECK(slept);
    CHECK(woke_by_pipe);
}

// One whose thread does not come back to its loop (blocked outside green, as
// a thread busy with its own work) is not waited for: its wake-up eventfd is
// taken from it while it is away, the number is free at once, and the loop,
// back, is woken from other threads through the eventfd's new number.
TEST_CASE("shim_api: another thread's hub away from its loop has its descriptors taken") {
    std::promise<std::vector<int>> made;
    std::promise<void> go_on;
    int answer = 0;
    bool slept = false;
    std::thread other([&] {
        made.set_value(runtime_fds_made_by([] { green::sleep(0s); }));
        go_on.get_future().wait();  // a plain wait: the hub's loop does not run
        green::sleep(10ms);
        slept = true;
        answer = green::run_in_thread([] { return 42; });  // its result wakes the loop through the eventfd
    });
    const std::vector<int> fds = made.get_future().get();
    REQUIRE_FALSE(fds.empty());  // its eventfd (its epoll set too, where the shim marks what libev opens)
    const auto t0 = std::chrono::steady_clock::now();
    for (int fd : fds) {
        CHECK(api::free_runtime_fd(fd));
        CHECK_FALSE(api::is_runtime_fd(fd));
        errno = 0;
        CHECK(fcntl(fd, F_GETFD) == -1);  // closed: the number is free for the program's dup2
        CHECK(errno == EBADF);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    go_on.set_value();
    other.join();
    CHECK(slept);
    CHECK(answer == 42);
}

namespace {

std::atomic<std::uint32_t> posted{0};

// What sem_post does from a signal handler: a count, then an unpark.
void post_from_handler(int) {
    posted.fetch_add(1);
    api::unpark(&posted, 1, 0, true);
}

}  // namespace

// A signal handler's sem_post lands while the waiting greenlet holds the
// parking lot's bucket (the unpark is deferred to the bucket's unlock, which
// is the waiter's own): the waiter takes it and does not sleep. Before, the
// unpark woke the greenlet that was still running, nothing woke it again, and
// it slept until its deadline.
TEST_CASE("shim_api: an unpark deferred by a signal handler reaches the waiter that deferred it") {
    struct sigaction sa {}, old {};
    sa.sa_handler = post_from_handler;
    REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);
    green::sleep(0s);  // this thread's hub exists
    std::thread other([] { std::this_thread::sleep_for(200ms); });  // a thread that might unpark: no deadlock
    static std::atomic<bool> fire;
    fire = true;
    const auto t0 = std::chrono::steady_clock::now();
    const api::Parked p = api::park(
        &posted,
        [](void*) {
            const bool nothing_yet = posted.load() == 0;
            if (fire.exchange(false)) pthread_kill(pthread_self(), SIGUSR1);  // under the bucket's lock
            return nothing_yet;
        },
        nullptr, nullptr, green::detail::Deadline::after(5.0), "the test's wait", true);
    const auto took = std::chrono::steady_clock::now() - t0;
    other.join();
    sigaction(SIGUSR1, &old, nullptr);
    CHECK(p.result == api::ParkResult::unparked);
    CHECK(posted.load() == 1);
    CHECK(took < 2s);
}
