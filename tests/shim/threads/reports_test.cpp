// What green reports about a thread-patched program where, with OS threads, it
// would crash without a word or hang: a green thread's stack overflow names
// the thread, one that keeps its carrier busy is reported by the monitor with
// its backtrace, and a deadlock of every thread prints them all and what each
// waits on instead of hanging. And a binary that references old symbol versions
// of the pthread functions still gets green threads.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "running.hpp"
#include "support/support.hpp"

using test::contains;

namespace {

// In a sanitized build with the sanitizer runtime preloaded before the shim
// (threads_test::sanitizer_env).
test::RunResult under_threads(const std::string& what, std::vector<std::string> env = {},
                              const std::string& threads = "--threads") {
    for (const char* v : {"GREEN_MONITOR_MS", "GREEN_SHIM_COOPERATE", "GREEN_STACK_SIZE", "LD_PRELOAD", "GREEN_PRELOAD",
                          "ASAN_OPTIONS"})
        env.push_back(std::string("-") + v);
    const bool carriers = threads != "--threads";  // LeakSanitizer off, as in threads_test.cpp
    for (const std::string& e : threads_test::sanitizer_env(SANITIZER_RUNTIME, SHIM_PATH, !carriers)) env.push_back(e);
    return test::run_env({GREENRUN_PATH, threads, "--", PROBE_REPORTS, what}, env);
}

}  // namespace

// A green thread that overflows its (guarded) stack: the report names it, and
// the process ends by SIGABRT, not a bare SIGSEGV.
TEST_CASE("threads: a stack overflow names the green thread") {
    for (const char* threads : {"--threads", "--threads=2"}) {  // on the main thread's carrier, then on another
        const auto r = under_threads("overflow", {}, threads);
        INFO(threads << "\n" << r.err);
        CHECK(r.signal == SIGABRT);
        CHECK(contains(r.err, "stack overflow in greenlet deep-recursion"));
    }
}

// A green thread that blocks its carrier for 600 ms in a call the shim does not
// reach (a raw nanosleep) while another waits to run: the monitor (on by
// default under --threads) reports it by name with a backtrace; the program
// still ends normally, and the report interrupts none of the carrier's waits.
// (One that computes is preempted instead: probe_preempt.)
TEST_CASE("threads: the monitor reports a green thread that keeps its carrier busy") {
    const auto r = under_threads("busy");
    CHECK(r.exit_code == 0);
    // The report interrupts nothing: before, it came as a program's signal, and a
    // parked poll and nanosleep of the carrier failed with EINTR (-1).
    CHECK(r.out == "busy: poll 0, nanosleep 0\nbusy: done\n");
    CHECK(contains(r.err, "green: monitor: greenlet cruncher has kept its hub busy"));
    INFO(r.err);
}

// With two carriers, a green thread that computes for 1.2 s (preempted, so
// that the others of its carrier run too) has its carrier counted as pinned:
// the four threads created meanwhile all go to the other carrier (the main
// thread's), none beside the busy one.
TEST_CASE("threads: new threads avoid a carrier the monitor sees busy") {
    const auto r = under_threads("pinned", {}, "--threads=2");
    CHECK(r.exit_code == 0);
    CHECK(r.out == "pinned: threads placed beside the busy one: 0\n");
    INFO(r.err);
}

// Two green threads each wait for the mutex the other holds, and main joins
// one: with OS threads the program waits until its alarm (2 s) kills it, or
// until the alarm's handler ends it. Under --threads every green thread is
// listed with what it waits on, once, and the program then waits on just the same.
TEST_CASE("threads: a deadlock of every thread is reported, and a signal still ends it") {
    for (const bool handled : {false, true}) {
        const std::string what = handled ? "deadlock-handled" : "deadlock";
        const auto plain = test::run_env({PROBE_REPORTS, what}, {});
        const test::Stopwatch clock;
        const auto r = under_threads(what);
        INFO("handled: " << handled << "\n" << r.err);
        CHECK(clock.seconds() < 30);
        CHECK(r.signal == plain.signal);
        CHECK(r.exit_code == plain.exit_code);
        CHECK(r.out == plain.out);
        CHECK(r.signal == (handled ? 0 : SIGALRM));
        CHECK(r.out == (handled ? "deadlock: the alarm's handler ends it\n" : ""));
        CHECK(contains(r.err, "green: deadlock"));
        CHECK(contains(r.err, "in pthread_mutex_lock"));
        CHECK(contains(r.err, "in pthread_join"));
        CHECK(contains(r.err, "only a signal can end the wait"));
        CHECK(r.err.find("green: deadlock") == r.err.rfind("green: deadlock"));  // once
    }
}

// pthread_create@GLIBC_2.2.5, pthread_join@GLIBC_2.2.5 and
// pthread_cond_wait@GLIBC_2.3.2, as an older binary references them, reach the
// hooks: the thread is green (2 OS threads: the carrier and the monitor's).
TEST_CASE("threads: old symbol versions reach the hooks") {
    const auto r = under_threads("versions");
    CHECK(r.exit_code == 0);
    CHECK(r.out == "versions: signalled, 2 OS threads\n");
    INFO(r.err);
}
