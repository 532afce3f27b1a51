#include <doctest/doctest.h>

#include <green/green.hpp>

#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "support/support.hpp"

using namespace std::chrono_literals;

// run_in_thread returns the function's value computed on another OS thread.
TEST_CASE("thread_pool: result comes back") {
    const auto main_id = std::this_thread::get_id();
    auto [value, id] = green::run_in_thread([](int x) { return std::pair(x * 2, std::this_thread::get_id()); }, 21);
    CHECK(value == 42);
    CHECK(id != main_id);
}

// Only the calling greenlet waits: others keep running during a blocking call.
// The call waits for five ticks of a greenlet of the caller's hub, which can
// come only if the hub runs meanwhile (it gives up after 10 s).
TEST_CASE("thread_pool: the hub keeps running") {
    std::atomic<int> ticks{0};
    bool stop = false;
    auto ticker = green::spawn([&] {
        while (!stop) {
            green::sleep(1ms);
            ++ticks;
        }
    });
    const bool saw_ticks = green::run_in_thread([&] {  // a really blocking call
        for (int waited_ms = 0; waited_ms < 10000; ++waited_ms) {
            if (ticks.load() >= 5) return true;
            ::usleep(1000);
        }
        return false;
    });
    stop = true;
    ticker.join();
    CHECK(saw_ticks);
}

// The function's exception is rethrown in the caller.
TEST_CASE("thread_pool: exceptions propagate") {
    CHECK_THROWS_WITH(green::run_in_thread([]() -> int { throw std::runtime_error("in thread"); }), "in thread");
}

// Many greenlets share a bounded pool; calls run in parallel up to its size.
TEST_CASE("thread_pool: bounded parallelism") {
    green::ThreadPool pool(4);
    std::atomic<int> inside{0}, peak{0};
    std::vector<green::Greenlet<int>> gs;
    for (int i = 0; i < 12; ++i)
        gs.push_back(pool.spawn([&, i] {
            int now = ++inside;
            int p = peak.load();
            while (now > p && !peak.compare_exchange_weak(p, now)) {
            }
            ::usleep(10 * 1000);
            --inside;
            return i;
        }));
    int sum = 0;
    for (auto& g : gs) sum += g.get();
    CHECK(sum == 66);
    CHECK(peak <= 4);
    CHECK(pool.size() <= 4);
}

// Killing a greenlet waiting for a call abandons the call safely; a queued call
// that never started is cancelled.
TEST_CASE("thread_pool: kill of the waiting greenlet") {
    green::ThreadPool pool(1);
    std::atomic<bool> second_ran{false};
    auto first = pool.spawn([] { ::usleep(50 * 1000); });
    auto second = pool.spawn([&] { second_ran = true; });
    green::yield();
    second.kill();  // still queued behind `first`
    first.kill();   // already running: finishes, result dropped
    green::sleep(100ms);
    CHECK_FALSE(second_ran);
    CHECK(pool.apply([] { return 5; }) == 5);  // the pool still works
}

// A ThreadPool of zero threads is refused.
TEST_CASE("thread_pool: bad size") { CHECK_THROWS_AS(green::ThreadPool(0), std::invalid_argument); }

// A greenlet waiting on a thread is not a deadlock: the hub does not raise
// LoopExit while the call is outstanding.
TEST_CASE("thread_pool: waiting on a thread keeps the loop alive") {
    CHECK(green::run_in_thread([] {
        ::usleep(30 * 1000);
        return 1;
    }) == 1);
}

namespace {

// In a child process: drops to nobody when root (RLIMIT_NPROC binds no root
// process), then lets it create no more threads, with RLIMIT_NPROC's soft limit
// at 0, until allow_threads(). Returns false when the limit cannot be set.
rlimit nproc_before{};
bool forbid_threads() {
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                             ::setresuid(65534, 65534, 65534) != 0))
        return false;
    if (::getrlimit(RLIMIT_NPROC, &nproc_before) != 0) return false;
    const rlimit none{0, nproc_before.rlim_max};
    return ::setrlimit(RLIMIT_NPROC, &none) == 0;
}
void allow_threads() { ::setrlimit(RLIMIT_NPROC, &nproc_before); }

// A child's failure: exits with `code` after saying why.
void child_fails(int code, const char* why) {
    std::fprintf(stderr, "child: %s\n", why);
    std::_Exit(code);
}

}  // namespace

// When a worker thread cannot be started (RLIMIT_NPROC), the call fails in its
// caller with std::system_error and leaves nothing queued: a worker that frees
// up later (or starts later) finds no call whose caller has gone (under ASan, a
// use after free before).
TEST_CASE("thread_pool: a worker that cannot be started fails the call") {
    const pid_t pid = green::fork();
    if (pid == 0) {
        green::ThreadPool pool(2);
        std::atomic<bool> release{false};
        auto busy = green::spawn([&] {
            return pool.apply([&] {
                while (!release) ::usleep(1000);
                return 1;
            });
        });
        while (pool.size() == 0) green::sleep(1ms);  // one worker, busy
        if (!forbid_threads()) std::_Exit(77);
        // A pool with no worker, then one whose worker is busy: neither can start one.
        green::ThreadPool empty(1);
        for (green::ThreadPool* p : {&empty, &pool}) {
            try {
                p->apply([] { return 2; });
                child_fails(10, "a call ran without a worker");
            } catch (const std::system_error& e) {
                if (e.code().value() != EAGAIN) child_fails(11, e.what());
            }
        }
        if (empty.size() != 0 || pool.size() != 1) child_fails(12, "a worker was counted that never started");
        release = true;
        if (busy.get() != 1) child_fails(13, "the busy call's result was lost");
        allow_threads();
        if (empty.apply([] { return 3; }) != 3 || pool.apply([] { return 4; }) != 4)
            child_fails(14, "the pools do not work once threads may start again");
        std::_Exit(0);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return test::skip("RLIMIT_NPROC cannot be set here");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
