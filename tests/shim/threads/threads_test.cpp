// Thread patching: programs that use pthreads, C11 threads and std::thread run
// with OS threads (plain), under greenrun --threads (every thread a greenlet
// on its creator's hub, the sync family parks greenlets), under greenrun
// --threads=2 (green threads spread over two carriers, the sync family wakes
// across them) and under greenrun --threads with GREEN_SHIM_COOPERATE=always. What they print and their exit
// status must be the same: the probes print only results that do not depend
// on scheduling or on what kind of thread runs them. A thread-per-connection
// echo server and its client also show that green threads need no OS thread
// each.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "running.hpp"
#include "support/support.hpp"

using test::contains;
using threads_test::count_tasks;
using threads_test::Running;

namespace {

const std::string kGreenrun = GREENRUN_PATH;

// How the probes run green. Everything else in this file follows from it.
// (With {kGreenrun, "--"}, greenrun without thread patching, every check but
// the OS-thread counts passes: the probes are transparent to the shim.)
const std::vector<std::string> kGreenrunThreads = {kGreenrun, "--threads", "--"};
const std::vector<std::string> kGreenrunCarriers = {kGreenrun, "--threads=2", "--"};

// The library whose threads stay OS threads in the hybrid probe. A sanitizer's
// interceptor starts every thread in its own code: sanitized, the library makes
// its call to pthread_create one the shim can see (probe_realthread.c).
const std::vector<std::string> kExclude =
    std::string(SANITIZER_RUNTIME).empty()
        ? std::vector<std::string>{"GREEN_THREADS_EXCLUDE=libprobe_realthread.so"}
        : std::vector<std::string>{"GREEN_THREADS_EXCLUDE=libprobe_realthread.so", "PROBE_KEEP_CALL_SITE=1"};

// The most OS threads a green process may have: the hub's thread plus a few
// of the runtime's own (the hybrid probe's real thread comes on top), and the
// second carrier under --threads=2.
constexpr int kMostGreenTasks = 4;

// ---------------------------------------------------------------------------
// Running a probe three ways.

enum class Way { plain, threads, carriers, always };
const Way kGreenWays[] = {Way::threads, Way::carriers, Way::always};

int most_tasks(Way w) { return kMostGreenTasks + (w == Way::carriers ? 1 : 0); }

std::string way_name(Way w) {
    switch (w) {
    case Way::plain: return "plain";
    case Way::threads: return "greenrun --threads";
    case Way::carriers: return "greenrun --threads=2";
    default: return "greenrun --threads, GREEN_SHIM_COOPERATE=always";
    }
}

bool has_name(const std::vector<std::string>& env, const std::string& name) {
    for (const auto& e : env)
        if (e.compare(0, name.size() + 1, name + "=") == 0) return true;
    return false;
}

// The environment changes of a run (test::run_env's form: "NAME=value"
// replaces, "-NAME" removes): `env` plus what the way needs. The shim's
// variables the caller did not set are removed, so that the outer environment
// cannot change what is tested. In a sanitized build the green ways preload
// the sanitizer runtime before the shim (threads_test::sanitizer_env; the
// probes are ours: LeakSanitizer stays on).
std::vector<std::string> env_for(Way w, std::vector<std::string> env) {
    // LeakSanitizer is off for the carriers' runs: it reports the thread_local
    // registration (32 bytes, __cxa_thread_atexit) of each carrier the shim
    // starts as leaked at exit (a known limit: docs/shim.md).
    if (w != Way::plain)
        for (const std::string& e : threads_test::sanitizer_env(SANITIZER_RUNTIME, SHIM_PATH, w != Way::carriers))
            env.push_back(e);
    for (const char* v : {"GREEN_SHIM_COOPERATE", "GREEN_THREADS", "GREEN_THREADS_EXCLUDE", "GREEN_THREADS_INCLUDE", "GREEN_LOG",
                          "GREEN_STACK_SIZE", "GREEN_MONITOR_MS", "GREEN_PREEMPT", "GREEN_DNS", "GREEN_DNS_SERVERS", "GREEN_PRELOAD",
                          "LD_PRELOAD", "ASAN_OPTIONS"})
        if (!has_name(env, v)) env.push_back(std::string("-") + v);
    if (w == Way::always) {
        std::erase(env, "-GREEN_SHIM_COOPERATE");
        env.push_back("GREEN_SHIM_COOPERATE=always");
    }
    return env;
}

std::vector<std::string> argv_for(Way w, const std::vector<std::string>& argv) {
    if (w == Way::plain) return argv;
    std::vector<std::string> out = w == Way::carriers ? kGreenrunCarriers : kGreenrunThreads;
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

test::RunResult run_way(Way w, const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    return test::run_env(argv_for(w, argv), env_for(w, env));
}


std::string describe(const test::RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.signal) + "\n--- stdout\n" +
           r.out.substr(0, 4000) + "\n--- stderr\n" + r.err.substr(0, 3000);
}

// The plain run passed all its own checks: the reference is good.
void check_reference(const test::RunResult& ref, const std::string& what, int exit_code = 0) {
    INFO(what << " (plain)");
    CHECK_MESSAGE(ref.exit_code == exit_code, describe(ref));
    CHECK_MESSAGE(ref.signal == 0, describe(ref));
    CHECK_MESSAGE(!contains(ref.out, "(expected "), describe(ref));
    CHECK_MESSAGE(!contains(ref.out, "FATAL"), describe(ref));
}

// Checks that `got` (run `way`) printed and ended as the plain run `ref` did.
void check_same(const test::RunResult& ref, const test::RunResult& got, Way way, const std::string& what) {
    INFO(what << " (" << way_name(way) << ")");
    const bool same_end = got.exit_code == ref.exit_code && got.signal == ref.signal;
    CHECK_MESSAGE(same_end, "plain: exit " << ref.exit_code << " signal " << ref.signal << "\ngreen: " << describe(got));
    const bool same_stdout = got.out == ref.out;
    CHECK_MESSAGE(same_stdout, "stdout " << test::first_difference(ref.out, got.out, "green")
                                         << (same_end ? "\ngreen stderr: " + got.err.substr(0, 2000) : ""));
}

// Runs `argv` the three ways; the plain run must pass its own checks and the
// green runs must print the same. Returns the three runs, plain first.
std::vector<test::RunResult> compare_ways(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                                          int exit_code = 0) {
    std::string what = argv[0].substr(argv[0].rfind('/') + 1);
    for (std::size_t i = 1; i < argv.size(); ++i) what += " " + argv[i];
    std::vector<test::RunResult> runs{run_way(Way::plain, argv, env)};
    check_reference(runs[0], what, exit_code);
    for (Way w : kGreenWays) {
        runs.push_back(run_way(w, argv, env));
        check_same(runs[0], runs.back(), w, what);
    }
    return runs;
}

// The number after "tasks: " in a probe's stderr, or -1.
int tasks_reported(const std::string& err) {
    const auto at = err.find("tasks: ");
    return at == std::string::npos ? -1 : std::atoi(err.c_str() + at + 7);
}

// What the echo server and client printed, and how many OS threads each had
// while all connections were open.
struct EchoRun {
    test::RunResult server, client;
    std::string server_out;  // without the port line
    int server_tasks = -1, client_tasks = -1;
};

EchoRun echo_run(Way w, int connections) {
    EchoRun r;
    const std::string n = std::to_string(connections);
    Running server(argv_for(w, {PROBE_ECHO_SERVER, "0", n}), env_for(w, {}), "echo-server");
    const std::string first = server.line();
    REQUIRE_MESSAGE(first.starts_with("port "), "the server's first line: '" << first << "'\n" << describe(server.finish(5)));
    const std::string port = first.substr(5);
    Running client(argv_for(w, {PROBE_ECHO_CLIENT, port, n}), env_for(w, {}), "echo-client");
    const std::string open_line = "all " + n + " connections open";
    std::string l;
    do
        l = client.line();
    while (!l.empty() && l != open_line);
    if (l == open_line) {
        r.server_tasks = count_tasks(server.pid());
        r.client_tasks = count_tasks(client.pid());
    }
    client.close_stdin();
    r.client = client.finish();
    r.server = server.finish();
    r.server_out = r.server.out.substr(std::min(r.server.out.size(), first.size() + 1));
    return r;
}

}  // namespace

// ---------------------------------------------------------------------------

// Every type of mutex (attributes and static initialisers) under contention, ownership seen from other threads, timed and clock locks, robust and process-shared mutexes behave as with OS threads.
TEST_CASE("threads: pthread mutexes") {
    const auto runs = compare_ways({PROBE_MUTEX});
    CHECK(runs[0].out.ends_with("done\n"));
}

// Two thousand threads contend on one mutex, condition variables, a ring of semaphores, a barrier, a futex word and a read-write lock: on one carrier, on two and on four, the counts are exact and nothing hangs.
TEST_CASE("threads: thousands of threads contend on every primitive") {
    const auto runs = compare_ways({PROBE_STRESS});
    CHECK(runs[0].out.ends_with("done\n"));
    const std::vector<std::string> four = {kGreenrun, "--threads=4", "--", PROBE_STRESS};
    check_same(runs[0], test::run_env(four, env_for(Way::carriers, {})), Way::carriers, "threads_probe_stress on 4 carriers");
}

// Condition variable waits, timeouts on both clocks, signal and broadcast counts and a bounded-buffer producer/consumer behave as with OS threads.
TEST_CASE("threads: pthread condition variables") {
    const auto runs = compare_ways({PROBE_COND});
    CHECK(runs[0].out.ends_with("done\n"));
}

// Read-write locks let readers in together and writers alone, time out, refuse self-deadlock, and treat a new reader behind a waiting writer by kind, as with OS threads.
TEST_CASE("threads: pthread read-write locks") {
    const auto runs = compare_ways({PROBE_RWLOCK});
    CHECK(contains(runs[0].out, "PREFER_WRITER_NONRECURSIVE_NP: a new reader while a writer waits\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// Barriers, spinlocks, semaphores, pthread_once, keys, per-thread errno and locale, identity, names, stack attributes, detached threads and the join family behave as with OS threads.
// Sanitized, 2000 threads come and go instead of 10000: under AddressSanitizer
// a green thread that comes and goes costs about 1 ms on these VMs (the
// sanitizer's per-thread allocator cache and records, page faults at 15 us),
// and two carriers 10000 of them took 10 s of the probe's 30 s watchdog.
TEST_CASE("threads: barriers, semaphores, once, keys, attributes and joins") {
    const auto runs = compare_ways({PROBE_MISC, std::string(SANITIZER_RUNTIME).empty() ? "10000" : "2000"});
    CHECK(contains(runs[0].out, "-- 300 threads\n  created: 300\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// flock, OFD and record locks: two threads of one carrier contending for one
// file exclude each other without hanging (a kernel wait stopped the holder
// too), another process's lock is waited for while other threads run, signals
// and cancellation end the wait as the kernel's, bad arguments fail alike.
TEST_CASE("threads: file locks wait without stopping the other threads") {
    const auto runs = compare_ways({PROBE_FILE_LOCKS});
    CHECK(contains(runs[0].out, "flock: two shared locks at once: yes\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// System V semaphores and message queues and POSIX message queues between
// threads of one carrier (a kernel wait stopped the poster: both waited
// forever), with another process, timeouts, handlers, removal, cancellation
// and bad arguments, as with OS threads.
TEST_CASE("threads: System V and POSIX message queues and semaphores wait without stopping the other threads") {
    const auto runs = compare_ways({PROBE_IPC});
    CHECK(contains(runs[0].out, "msgrcv waits for another thread's message: 16 hello type 7\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// Opening a FIFO waits for the other end without stopping the other threads:
// two threads of one carrier open the two ends (open, fopen), a thread waits
// for another process, handlers, cancellation and bad arguments as the kernel's.
TEST_CASE("threads: opening a FIFO waits for its other end without stopping the other threads") {
    const auto runs = compare_ways({PROBE_FIFO});
    CHECK(contains(runs[0].out, "two threads, fopen: hello through fopen\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// Futexes used directly through syscall(SYS_futex) wait, time out and wake (with exact counts) as with OS threads.
TEST_CASE("threads: futexes through syscall") {
    const auto runs = compare_ways({PROBE_FUTEX});
    CHECK(runs[0].out.ends_with("done\n"));
}

// Deferred cancellation at every blocking point and at pthread_testcancel runs cleanup handlers in order (a condition wait's with the mutex held) and join returns PTHREAD_CANCELED, as with OS threads.
TEST_CASE("threads: cancellation") {
    const auto runs = compare_ways({PROBE_CANCEL});
    CHECK(contains(runs[0].out, "pthread_cond_wait: the mutex was held when its handler ran: yes\n"));
    CHECK(runs[0].out.ends_with("done\n"));
}

// Cancellation and pthread_exit in C++ run the destructors of locals in every frame and pass through catch (...) that rethrows, as with OS threads.
TEST_CASE("threads: cancellation unwinds C++ frames") {
    const auto runs = compare_ways({PROBE_CANCEL_CXX});
    CHECK(runs[0].out.ends_with("done\n"));
}

// main calling pthread_exit leaves the process running until its last thread ends (joinable, detached, or calling exit(3)), with the same output and exit status.
TEST_CASE("threads: pthread_exit from main") {
    for (const char* mode : {"joinable", "detached", "exit3"}) {
        const bool exit3 = std::strcmp(mode, "exit3") == 0;
        const auto runs = compare_ways({PROBE_EXIT_MAIN, mode}, {}, exit3 ? 3 : 0);
        CHECK(contains(runs[0].out, "thread 2: done\n"));
        CHECK(runs[0].out.ends_with("atexit handler\n"));
    }
}

// C11 <threads.h>: threads, mutexes of every kind, condition variables, thread-specific storage and call_once behave as with OS threads.
TEST_CASE("threads: C11 threads") {
    const auto runs = compare_ways({PROBE_C11});
    CHECK(runs[0].out.ends_with("done\n"));
}

// The C++20 standard library's threads and sync types (mutexes, condition variables, shared_mutex, call_once, blocking static initialisers, atomic wait, semaphores, latch, barrier, jthread, futures) behave as with OS threads.
TEST_CASE("threads: C++20 std::thread and friends") {
    const auto runs = compare_ways({PROBE_CXX});
    CHECK(runs[0].out.ends_with("done\n"));
}

// sigwait in a dedicated thread, sigtimedwait, per-thread signal masks and pending sets, and a handler run by the thread pthread_kill named behave as with OS threads.
TEST_CASE("threads: signals and threads") {
    const auto runs = compare_ways({PROBE_SIGNALS});
    CHECK(runs[0].out.ends_with("done\n"));
}

// fork from a thread while others are blocked leaves only the forking thread in the child, which can make and join a new thread, as with OS threads.
TEST_CASE("threads: fork from a thread") {
    const auto runs = compare_ways({PROBE_FORK});
    CHECK(contains(runs[0].out, "child: threads in /proc/self/task: 1\n"));
    CHECK(contains(runs[0].out, "parent: its status: 0\n"));
}

// vfork while another thread waits, as CPython's subprocess starts a program:
// what the child does before it execs (its own signal mask, a handler reset,
// close_range of every descriptor) runs in the parent's memory, and must
// change nothing of the parent's: its mask is restored in the kernel too
// (signals reach it), and the waiting thread's read gets its data.
TEST_CASE("threads: vfork while another thread waits") {
    const auto runs = compare_ways({PROBE_VFORK});
    CHECK(runs[0].out.ends_with("done\n"));
}

// A program with a thread-local variable of its own keeps its threads OS
// threads under greenrun --threads, and each thread keeps its own value across
// a sleep, as plainly; green threads of a carrier would share it. With
// GREEN_THREADS_INCLUDE naming the program its threads are green: a handful
// of OS threads, and every thread reads the value the last one stored.
TEST_CASE("threads: a program with thread-local variables keeps OS threads") {
    const auto runs = compare_ways({PROBE_TLS});
    CHECK(runs[0].out.ends_with("done\n"));
    for (std::size_t i = 1; i < runs.size(); ++i) {
        INFO(way_name(kGreenWays[i - 1]));
        CHECK_MESSAGE(tasks_reported(runs[i].err) > 8, runs[i].err);
    }
    const std::string name = std::string(PROBE_TLS).substr(std::string(PROBE_TLS).rfind('/') + 1);
    const auto included = run_way(Way::threads, {PROBE_TLS}, {"GREEN_THREADS_INCLUDE=" + name});
    CHECK_MESSAGE(included.exit_code == 1, describe(included));
    CHECK_MESSAGE(contains(included.out, "across a sleep: 1 (expected 8)"), describe(included));
    const int tasks = tasks_reported(included.err);
    CHECK_MESSAGE(tasks >= 1, included.err);
    CHECK_MESSAGE(tasks <= most_tasks(Way::threads), included.err);
}

// stdio input on pipes and sockets (fgets, getline, getc, fread, fortified or
// not) waits while the other threads run, as with OS threads: glibc reads with
// its internal read, which the read hook never sees, so the stdio hooks park
// the green thread until the descriptor is readable. Before, the carrier
// blocked, the writer thread never ran, and the watchdog ended the probe.
// Pending output goes out before the wait, and EINTR, SO_RCVTIMEO and EOF end
// it as with OS threads. The rest of a line, record or fread that comes later
// is waited for the same way (before, it blocked the carrier); a cancellation
// mid-line ends the thread (before: std::terminate), and two readers of one
// stream get whole lines.
TEST_CASE("threads: stdio input waits while other threads run") {
    for (const char* probe : {PROBE_STDIO, PROBE_STDIO_FORTIFY}) {
        const auto runs = compare_ways({probe});
        CHECK(runs[0].out.ends_with("done\n"));
    }
}

// stdio output to a full pipe or socket (fputs, fprintf, printf, puts, fwrite,
// putc, the _unlocked calls, fflush, fclose, dprintf; fortified or not) waits
// while the other threads run, as with OS threads: glibc writes with its
// internal write, which the write hook never sees, so the stdio hooks park the
// green thread until the descriptor has room. Before, the carrier blocked, the
// reader thread never ran, and the watchdog ended the probe. Every byte
// arrives; two threads' large fwrites to one stream arrive whole; a handler
// without SA_RESTART ends the wait with EINTR.
TEST_CASE("threads: stdio output waits for room while other threads run") {
    for (const char* probe : {PROBE_STDIO_OUT, PROBE_STDIO_OUT_FORTIFY}) {
        const auto runs = compare_ways({probe});
        CHECK(runs[0].out.ends_with("done\n"));
    }
}

// A program whose threads have ended sleeps, polls and waits alone for their full time, uninterrupted, and greenrun --threads (whose monitor is on) says nothing about it: a thread alone on its hub keeps nobody waiting.
TEST_CASE("threads: a thread alone waits undisturbed") {
    const auto runs = compare_ways({PROBE_ALONE});
    CHECK(runs[0].out.ends_with("done\n"));
    for (std::size_t i = 1; i < runs.size(); ++i) {
        INFO(way_name(kGreenWays[i - 1]));
        CHECK_MESSAGE(runs[i].err.empty(), runs[i].err);
    }
}

// Threads whose calls never wait (datagrams sent to loopback, writes to /dev/null, zero-timeout polls) take turns with each other and with the main thread, as the kernel's time slices make OS threads do: the monitor ends a green thread's turn after its time slice. With its reports off (GREEN_MONITOR_MS=0) too: before, that turned the time slices off with them, and the first spinner kept its carrier until the watchdog ended the probe.
TEST_CASE("threads: threads that never wait still take turns") {
    const auto runs = compare_ways({PROBE_TURNS});
    CHECK(runs[0].out.ends_with("done\n"));
    for (Way w : {Way::threads, Way::carriers}) {
        const auto quiet = run_way(w, {PROBE_TURNS}, {"GREEN_MONITOR_MS=0"});
        check_same(runs[0], quiet, w, "probe_turns with GREEN_MONITOR_MS=0");
        CHECK_MESSAGE(!contains(quiet.err, "green: monitor:"), quiet.err);
    }
}

// Threads that compute, or spin on a flag, without a call the shim hooks let
// the others run, as the kernel's time slices make OS threads do: the monitor
// preempts them (a signal, whose handler takes the turn). Before, a thread
// spinning on a flag that another thread of its carrier was to set kept the
// carrier for good. With GREEN_PREEMPT=0 it still does (the probe's 3 s
// watchdog ends it): the test sees the preemption, and the knob works.
TEST_CASE("threads: threads that compute without a call are preempted") {
    const auto runs = compare_ways({PROBE_PREEMPT});
    CHECK(runs[0].out.ends_with("done\n"));
    const auto off = run_way(Way::threads, {PROBE_PREEMPT, "spin"}, {"GREEN_PREEMPT=0"});
    CHECK_MESSAGE(off.signal == SIGALRM, describe(off));
}

// dup2 onto every number up to 1023 succeeds while there are threads, as with
// OS threads: the carriers' epoll sets and wake-up eventfds move out of the
// way, and threads still block and wake each other afterwards, in a forked
// child too.
TEST_CASE("threads: dup2 onto the runtime's descriptor numbers") {
    const auto runs = compare_ways({PROBE_DUP2});
    CHECK(runs[0].out.ends_with("done\n"));
    CHECK(runs[0].out.starts_with("dup2 onto 3..1023: 0 failed\n"));
}

// The same while a thread waits in waitpid and another in sigwait: under
// --threads they park on a pidfd and a signalfd of the runtime's, which close
// when the program's dup2 takes the number, and the calls go on with new ones;
// with every call cooperative, each thread has a hub of its own, which gives
// up what it holds when asked from another thread.
TEST_CASE("threads: dup2 onto a parked waitpid's or sigwait's descriptor") {
    const auto runs = compare_ways({PROBE_DUP2, "held"});
    CHECK(runs[0].out.ends_with("done\n"));
    CHECK(runs[0].out.starts_with("dup2 onto 3..1023: 0 failed\n"));
}

// The same while green's resolver waits with a socket open (GREEN_DNS=ares; a
// first server that never answers, then a test dnsmasq): the socket's number
// goes to the program, the lookup is asked again on another and answered, and
// so is the next one. With two carriers, the other carrier's resolver opens
// files meanwhile (resolv.conf, the hosts file) at the lowest free number, for
// a moment: a dup2 aimed there waits for it to close.
TEST_CASE("threads: dup2 onto the resolver's sockets") {
    test::Dnsmasq dns({"--host-record=a.test.green,192.0.2.10"});
    const int silent = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof at;
    REQUIRE(bind(silent, reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
    REQUIRE(getsockname(silent, reinterpret_cast<sockaddr*>(&at), &len) == 0);
    const std::string servers = "127.0.0.1:" + std::to_string(ntohs(at.sin_port)) + "," + dns.server();
    for (Way w : {Way::threads, Way::carriers, Way::always}) {
        const auto r = run_way(w, {PROBE_DUP2, "a.test.green"},
                               {"GREEN_DNS=ares", "GREEN_DNS_SERVERS=" + servers, "GREEN_DNS_TIMEOUT=1", "GREEN_DNS_TRIES=1"});
        INFO(way_name(w) << ": " << describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out.starts_with("dup2 onto 3..1023: 0 failed\ngetaddrinfo(a.test.green) = 0 192.0.2.10\n"
                                "getaddrinfo(a.test.green) = 0 192.0.2.10\n"));
    }
    close(silent);
}

// The same in a child forked by a thread with a hub: the monitor thread stays
// in the parent, and the child starts one of its own.
TEST_CASE("threads: green threads of a forked child take turns too") {
    const auto runs = compare_ways({PROBE_TURNS, "fork"});
    CHECK(runs[0].out.ends_with("done\n"));
}

// A thread created inside an excluded library (GREEN_THREADS_EXCLUDE) stays an OS thread and shares a mutex, condition variable, semaphores, a read-write lock and a barrier with green threads without losing a wake-up.
TEST_CASE("threads: an excluded library's thread beside green threads") {
    const auto runs = compare_ways({PROBE_HYBRID}, kExclude);
    CHECK(runs[0].out.ends_with("done\n"));
    const int plain_tasks = tasks_reported(runs[0].err);
    CHECK_MESSAGE(plain_tasks == 8, "plain: main, the library's thread and six others: " << runs[0].err);
    for (std::size_t i = 1; i < runs.size(); ++i) {
        INFO(way_name(kGreenWays[i - 1]));
        const int tasks = tasks_reported(runs[i].err);
        // The library's thread is an OS thread of its own; the six others are not.
        CHECK_MESSAGE(tasks >= 2, runs[i].err);
        CHECK_MESSAGE(tasks <= most_tasks(kGreenWays[i - 1]) + 1, runs[i].err);
    }
    // greenrun without --threads: the preload stub loads the hooks at start
    // (GREEN_SHIM_COOPERATE=always) and every thread is an OS thread, whose
    // calls the hooks pass on to what the stub finds after itself, old
    // versions included.
    const auto stub_run = test::run_env({kGreenrun, "--", PROBE_HYBRID}, env_for(Way::always, kExclude));
    check_same(runs[0], stub_run, Way::always, "probe_hybrid under greenrun without --threads");
}

// std::threads of the program and of an excluded library come from the same code in libstdc++; the library's stays an OS thread of its own whether or not the program started one first.
TEST_CASE("threads: an excluded library's std::thread beside the program's") {
    const auto runs = compare_ways({PROBE_HYBRID_CXX}, {"GREEN_THREADS_EXCLUDE=libprobe_realthread_cxx.so"});
    CHECK(runs[0].out.ends_with("done\n"));
}

// A thread-per-connection echo server and its thread-per-connection client serve 200 connections the same way, with more than 200 OS threads each natively and at most a handful each under greenrun --threads.
TEST_CASE("threads: a thread-per-connection echo server") {
    constexpr int kConnections = 200;
    const EchoRun ref = echo_run(Way::plain, kConnections);
    check_reference(ref.server, "echo server");
    check_reference(ref.client, "echo client");
    CHECK(contains(ref.server_out, "connections accepted: 200\n"));
    CHECK(contains(ref.client.out, "20 KB echoes right: 200\n"));
    CHECK_MESSAGE(ref.server_tasks > kConnections, "server OS threads with all connections open: " << ref.server_tasks);
    CHECK_MESSAGE(ref.client_tasks > kConnections, "client OS threads with all connections open: " << ref.client_tasks);
    for (Way w : kGreenWays) {
        INFO(way_name(w));
        const EchoRun got = echo_run(w, kConnections);
        CHECK_MESSAGE(got.server.exit_code == ref.server.exit_code, "server: " << describe(got.server));
        CHECK_MESSAGE(got.server.signal == 0, "server: " << describe(got.server));
        CHECK_MESSAGE(got.server_out == ref.server_out, "server stdout " << test::first_difference(ref.server_out, got.server_out, "green"));
        check_same(ref.client, got.client, w, "echo client");
        CHECK_MESSAGE(got.server_tasks >= 1, "the client never had all connections open: " << describe(got.client));
        CHECK_MESSAGE(got.server_tasks <= most_tasks(w), "server OS threads with all connections open: " << got.server_tasks);
        CHECK_MESSAGE(got.client_tasks >= 1, "the client never had all connections open: " << describe(got.client));
        CHECK_MESSAGE(got.client_tasks <= most_tasks(w), "client OS threads with all connections open: " << got.client_tasks);
    }
}
