#include <doctest/doctest.h>

#include <green/green.hpp>

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "support/support.hpp"
#include "support/bystander.hpp"

using namespace std::chrono_literals;

// A signal runs the handler in a new greenlet, which may block.
TEST_CASE("signal: handler runs in a greenlet") {
    green::Event got;
    auto h = green::signal_handler(SIGUSR1, [&] {
        green::sleep(1ms);
        got.set();
    });
    ::kill(::getpid(), SIGUSR1);
    CHECK(got.wait(2s));
    CHECK(h.signum() == SIGUSR1);
}

// A cancelled handler no longer runs and the previous disposition comes back.
TEST_CASE("signal: cancel restores the previous disposition") {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction before {};
    sigaction(SIGUSR2, &ignore, &before);
    int calls = 0;
    {
        auto h = green::signal_handler(SIGUSR2, [&] { ++calls; });
        ::kill(::getpid(), SIGUSR2);
        green::sleep(20ms);
        CHECK(calls == 1);
    }
    struct sigaction now {};
    sigaction(SIGUSR2, nullptr, &now);
    CHECK(reinterpret_cast<void*>(now.sa_handler) == reinterpret_cast<void*>(SIG_IGN));
    ::kill(::getpid(), SIGUSR2);  // ignored: must not kill the test
    green::sleep(5ms);
    CHECK(calls == 1);
    sigaction(SIGUSR2, &before, nullptr);
}

// Bad signals are refused; a second thread cannot take a signal another hub owns.
TEST_CASE("signal: bad input") {
    CHECK_THROWS_AS((void)green::signal_handler(SIGKILL, [] {}), std::invalid_argument);
    CHECK_THROWS_AS((void)green::signal_handler(0, [] {}), std::invalid_argument);
    CHECK_THROWS_AS((void)green::signal_handler(SIGUSR1, nullptr), std::invalid_argument);
    auto h = green::signal_handler(SIGUSR1, [] {});
    bool refused = false;
    std::thread([&] {
        try {
            auto other = green::signal_handler(SIGUSR1, [] {});
        } catch (const std::logic_error&) {
            refused = true;
        }
    }).join();
    CHECK(refused);
}

// A fault's signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE) cannot wait for a greenlet:
// the faulting instruction runs again as soon as the kernel's handler returns,
// and faults again, forever. They are refused and their disposition is left alone.
TEST_CASE("signal: synchronous signals are refused") {
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) {
        CAPTURE(sig);
        struct sigaction before {}, after {};
        sigaction(sig, nullptr, &before);
        CHECK_THROWS_AS((void)green::signal_handler(sig, [] {}), std::invalid_argument);
        sigaction(sig, nullptr, &after);
        CHECK(reinterpret_cast<void*>(after.sa_handler) == reinterpret_cast<void*>(before.sa_handler));
    }
}

// A signal handler does not keep a waiting main greenlet from seeing LoopExit.
TEST_CASE("signal: does not keep the loop alive") {
    auto h = green::signal_handler(SIGUSR1, [] {});
    green::Event never;
    CHECK_THROWS_AS(never.wait(), green::LoopExit);
}

namespace {

int open_descriptors() {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += e.path().filename() != ".";
    return n;
}

}  // namespace

// A signal sent by another thread, and signals sent many at a time, run each
// handler of that signal in the hub (at least once per burst: signals of one
// number coalesce, as the kernel's do); two handlers of one signal both run.
TEST_CASE("signal: from another thread, in bursts, to two handlers") {
    int first = 0, second = 0;
    auto a = green::signal_handler(SIGUSR1, [&] { ++first; });
    auto b = green::signal_handler(SIGUSR1, [&] { ++second; });
    std::thread([] { ::kill(::getpid(), SIGUSR1); }).join();
    const auto t0 = std::chrono::steady_clock::now();
    while (first == 0 && std::chrono::steady_clock::now() - t0 < 2s) green::sleep(1ms);
    CHECK(first == 1);
    CHECK(second == 1);
    for (int i = 0; i < 100; ++i) ::kill(::getpid(), SIGUSR1);
    green::sleep(20ms);
    CHECK(first >= 2);
    CHECK(first == second);
    b.cancel();
    const int before = first;
    ::kill(::getpid(), SIGUSR1);
    green::sleep(20ms);
    CHECK(first == before + 1);
    CHECK(second == before);
}

// Handling a signal opens no descriptor (libev's ev_signal opened an eventfd
// whose number it kept: a program's dup2 onto it could never have it).
TEST_CASE("signal: a handler opens no descriptor") {
    green::sleep(0s);  // the hub and its loop exist
    const int before = open_descriptors();
    bool ran = false;
    {
        auto h = green::signal_handler(SIGUSR2, [&] { ran = true; });
        ::kill(::getpid(), SIGUSR2);
        green::sleep(20ms);
        CHECK(ran);
        CHECK(open_descriptors() == before);
    }
    CHECK(open_descriptors() == before);
}

// In a forked child only the calling greenlet runs; sleeping and spawning work there.
TEST_CASE("fork: only the caller continues in the child") {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    auto other = green::spawn([&] {
        green::sleep(30ms);
        ::write(pipefd[1], "P", 1);  // would also run in the child if it survived there
    });
    green::yield();
    const pid_t pid = green::fork();
    if (pid == 0) {
        green::sleep(60ms);  // longer than `other` would sleep
        auto g = green::spawn([] { return 7; });
        const char c = g.get() == 7 && other.killed() ? 'C' : 'X';
        ::write(pipefd[1], &c, 1);
        _exit(0);
    }
    other.join();
    ::close(pipefd[1]);
    std::string seen;
    char c;
    while (green::run_in_thread([&] { return ::read(pipefd[0], &c, 1); }) == 1) seen += c;
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(seen.find('C') != std::string::npos);
    CHECK(seen.find('X') == std::string::npos);
    CHECK(std::count(seen.begin(), seen.end(), 'P') == 1);  // from the parent only
}

// A child forked from a spawned greenlet exits when that greenlet ends.
TEST_CASE("fork: from a spawned greenlet") {
    pid_t child = -1;
    auto g = green::spawn([&] {
        child = green::fork();
        if (child == 0) green::sleep(10ms);  // then the greenlet ends: the child exits with 0
    });
    g.join();
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

// run_in_thread works in a forked child (the pools start afresh there).
TEST_CASE("fork: thread pool in the child") {
    CHECK(green::run_in_thread([] { return 1; }) == 1);  // the parent's pool has a worker
    const pid_t pid = green::fork();
    if (pid == 0) _exit(green::run_in_thread([] { return 42; }) == 42 ? 0 : 1);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) green::sleep(5ms);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

// waitpid for one child parks only the caller and wakes when the child exits.
TEST_CASE("waitpid: one child's exit, while others run") {
    test::Stopwatch w;
    const pid_t pid = test::child_exiting_after(150, 7);
    int status = 0;
    test::Bystander others;
    CHECK(green::waitpid(pid, &status) == pid);
    CHECK(others.ran());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
    CHECK(w.seconds() < 2);
    CHECK_THROWS_AS(green::waitpid(pid, nullptr, WNOHANG), std::system_error);  // reaped: no longer a child
}

// Any child (-1), WNOHANG and stops (WUNTRACED): no pidfd tells these, so they
// are looked at again every few ms.
TEST_CASE("waitpid: any child, WNOHANG, stopped children") {
    const pid_t first = test::child_exiting_after(100, 1);
    int status = 0;
    test::Bystander others;
    CHECK(green::waitpid(first, &status, WNOHANG) == 0);
    CHECK(green::waitpid(-1, &status) == first);
    CHECK(others.ran());
    CHECK(WEXITSTATUS(status) == 1);
    const pid_t sleeper = test::child_exiting_after(10000, 2);
    auto stopper = green::spawn([&] {
        green::sleep(50ms);
        ::kill(sleeper, SIGSTOP);
    });
    CHECK(green::waitpid(sleeper, &status, WUNTRACED) == sleeper);
    CHECK(WIFSTOPPED(status));
    ::kill(sleeper, SIGKILL);
    CHECK(green::waitpid(sleeper, &status) == sleeper);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

// A traced child's stop ends waitpid without WUNTRACED, though a pidfd does not
// tell of it (only of exits).
TEST_CASE("waitpid: a traced child's stop") {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(100);
        ::usleep(100000);  // the parent is waiting by then
        ::raise(SIGSTOP);
        _exit(3);
    }
    REQUIRE(pid > 0);
    test::Stopwatch w;
    int status = 0;
    test::Bystander others;
    REQUIRE(green::waitpid(pid, &status) == pid);
    CHECK(others.ran());
    if (WIFEXITED(status) && WEXITSTATUS(status) == 100) return test::skip("ptrace is not allowed here");
    CHECK(WIFSTOPPED(status));
    CHECK(WSTOPSIG(status) == SIGSTOP);
    CHECK(w.seconds() < 2);
    CHECK(::ptrace(PTRACE_CONT, pid, nullptr, nullptr) == 0);
    CHECK(green::waitpid(pid, &status) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
}

// A Timeout or a kill ends the wait (the child is still there to reap) and
// leaves no descriptor behind.
TEST_CASE("waitpid: timeout and kill") {
    green::yield();  // the hub exists from here, with its own descriptors
    const int fds_before = test::open_fds();
    const pid_t pid = test::child_exiting_after(10000, 0);
    CHECK_THROWS_AS(green::with_timeout(50ms, [&] { return green::waitpid(pid, nullptr); }), green::TimeoutError);
    auto waiter = green::spawn([&] { return green::waitpid(pid, nullptr); });
    green::sleep(20ms);
    waiter.kill();
    CHECK(waiter.killed());
    CHECK(test::open_fds() == fds_before);
    ::kill(pid, SIGKILL);
    int status = 0;
    CHECK(green::waitpid(pid, &status) == pid);
    CHECK(WTERMSIG(status) == SIGKILL);
}

// No such child: ECHILD; options waitpid does not know: EINVAL.
TEST_CASE("waitpid: bad input") {
    auto code = [](pid_t pid, int options) {
        try {
            green::waitpid(pid, nullptr, options);
        } catch (const std::system_error& e) {
            return e.code().value();
        }
        return 0;
    };
    CHECK(code(::getpid(), 0) == ECHILD);
    CHECK(code(-1, 0) == ECHILD);
    CHECK(code(1, 0) == ECHILD);
    CHECK(code(-1, 0x40000) == EINVAL);
}
