#include <doctest/doctest.h>

#include <string>

#include "support/support.hpp"

using test::contains;

namespace {

// Runs core_helper's stop_for_gdb scenario under gdb: at its SIGTRAP, loads the
// helper script and runs `commands`, then lets the program finish.
test::RunResult gdb_session(const std::string& commands) {
    const std::string script = test::temp_path("session.gdb");
    std::FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f);
    std::fprintf(f, "set pagination off\nset confirm off\nrun\nsource %s\n%scontinue\n", GDB_HELPER, commands.c_str());
    std::fclose(f);
    // LeakSanitizer cannot run under ptrace; nothing else changes.
    return test::run_env({"/usr/bin/gdb", "-batch", "-nx", "-x", script, "--args", HELPER_PATH, "stop_for_gdb"},
                         {"ASAN_OPTIONS=detect_leaks=0"});
}

// The helper reads the program's debug info: without it (a release build) it
// can only say so.
bool needs_debug_info() {
    if (GREEN_DEBUG_INFO) return true;
    test::skip("this build has no debug info (-g), which the gdb helper reads");
    return false;
}

}  // namespace

// `info greenlets` lists every greenlet of the stopped thread's hub with its
// name (an unnamed one as the program calls it), state and what it waits on,
// and marks the running one.
TEST_CASE("gdb: info greenlets lists the hub's greenlets") {
    if (!needs_debug_info()) return;
    const auto r = gdb_session("info greenlets\n");
    INFO(r.out, r.err);
    CHECK(contains(r.out, "*#0    main                     running"));
    CHECK(contains(r.out, " #1    sleeper                  waiting in sleep, stack "));
    CHECK(contains(r.out, " #2    waiter                   waiting in Event::wait (0x"));
    CHECK(contains(r.out, " #3    Greenlet-3               waiting in Event::wait (0x"));
    CHECK(contains(r.out, "4 greenlets, 0 ready"));
    CHECK(contains(r.out, "continued"));
}

// `greenlet bt` shows where a parked greenlet and the hub's own fiber are
// suspended, stops at the fiber's entry, and gives the thread its registers
// back: the program goes on normally.
TEST_CASE("gdb: greenlet bt shows a parked greenlet's stack") {
    if (!needs_debug_info()) return;
    const auto r = gdb_session("greenlet bt 1\ngreenlet bt 2\ngreenlet bt hub\nbt\n");
    INFO(r.out, r.err);
    const auto sleeper = r.out.find("nap_in_sleep");
    const auto waiter = r.out.find("wait_for_event");
    REQUIRE(sleeper != std::string::npos);
    REQUIRE(waiter != std::string::npos);
    CHECK(sleeper < waiter);
    CHECK(contains(r.out, "green::detail::Hub::greenlet_entry"));
    CHECK(contains(r.out, "green::detail::Hub::hub_entry"));
    CHECK(!contains(r.out, "in ?? ()"));  // the walk stopped at the entry
    CHECK(contains(r.out.substr(waiter), "in main"));  // the plain bt after it: main's own stack again
    CHECK(contains(r.out, "continued"));
    CHECK(contains(r.out, "exited normally"));
}

// Bad input: an unknown id, the running greenlet and a missing argument get a
// clear message, and the session goes on.
TEST_CASE("gdb: greenlet bt of a greenlet it cannot show") {
    if (!needs_debug_info()) return;
    const auto r = gdb_session("greenlet bt 99\n");
    CHECK(contains(r.err, "no greenlet #99 on this thread's hub"));
    const auto running = gdb_session("greenlet bt 0\n");
    CHECK(contains(running.err, "greenlet 0 is the one running: use bt"));
    const auto missing = gdb_session("greenlet bt\n");
    CHECK(contains(missing.err, "usage: greenlet bt ID|hub"));
}

// Without debug info the helper says what it needs instead of failing obscurely.
TEST_CASE("gdb: without debug info the helper says so") {
    if (GREEN_DEBUG_INFO) return test::skip("this build has debug info");
    const auto r = gdb_session("info greenlets\n");
    INFO(r.out, r.err);
    CHECK(contains(r.err, "is the program built with -g?"));
}
