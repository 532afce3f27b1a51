#include <doctest/doctest.h>

#include <green/green.hpp>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "support/bystander.hpp"
#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

// Whether `pid` is gone, zombie included (kill(2) still finds a zombie),
// within `seconds`: then someone reaped it.
bool reaped_within(pid_t pid, double seconds) {
    test::Stopwatch w;
    while (w.seconds() < seconds) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        green::sleep(5ms);
    }
    return false;
}

// The pid a child wrote into `path` (sh -c 'echo $$ > path; ...'), waiting for it.
pid_t pid_written_to(const std::string& path) {
    test::Stopwatch w;
    while (w.seconds() < 5) {
        std::ifstream f(path);
        pid_t pid = 0;
        if (f >> pid && pid > 0) return pid;
        green::sleep(5ms);
    }
    return -1;
}

// The errno of the std::system_error that `fn` throws (0 if none), and its message.
template <class Fn>
std::pair<int, std::string> system_error_of(Fn&& fn) {
    try {
        fn();
    } catch (const std::system_error& e) {
        return {e.code().value(), e.what()};
    }
    return {0, ""};
}

// Whether this process has no child left, not even a zombie.
bool no_children() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

// The descriptors any child of this process inherits, and 0, 1, 2, as ls lists them.
std::string inheritable_fds() {
    std::set<std::string> names{"0", "1", "2"};
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        const std::string name = entry.path().filename();
        const int flags = ::fcntl(std::stoi(name), F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) names.insert(name);
    }
    std::string list;
    for (const std::string& n : names) list += n + "\n";
    return list;
}

std::string pattern(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = char('a' + (i * 7 + i / 4093) % 26);
    return s;
}

}  // namespace

// Both piped outputs come back apart, with the exit status.
TEST_CASE("subprocess: communicate returns stdout, stderr and the exit status") {
    green::Popen p({"sh", "-c", "echo out; echo err >&2; exit 3"}, {.out = green::Stdio::pipe, .err = green::Stdio::pipe});
    CHECK(p.pid() > 0);
    CHECK(p.args().at(0) == "sh");
    const green::Output o = p.communicate();
    CHECK(o.out == "out\n");
    CHECK(o.err == "err\n");
    REQUIRE(p.returncode().has_value());
    CHECK(*p.returncode() == 3);
    CHECK(p.wait() == 3);
    CHECK(p.poll() == 3);
}

// 10 MB in and out of cat, and 20 MB on each of stdout and stderr written at
// once: no deadlock, nothing lost.
TEST_CASE("subprocess: large outputs both ways") {
    const std::string input = pattern(10 << 20);
    green::Popen cat({"cat"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    const green::Output o = cat.communicate(input, 60s);
    CHECK(o.out.size() == input.size());
    CHECK(o.out == input);
    CHECK(cat.returncode() == 0);

    green::Popen both({"sh", "-c", "head -c 20000000 /dev/zero >&2 & head -c 20000000 /dev/zero; wait"},
                      {.out = green::Stdio::pipe, .err = green::Stdio::pipe});
    const green::Output b = both.communicate({}, 60s);
    CHECK(b.out.size() == 20000000);
    CHECK(b.err.size() == 20000000);
    CHECK(both.returncode() == 0);
}

// Outputs of every size around the reader's buffers (a small one first, a
// 64 KiB chunk after a read that filled it) arrive whole, byte for byte.
TEST_CASE("subprocess: outputs of sizes around the read buffers") {
    for (const std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(1023), std::size_t(1024),
                                   std::size_t(1025), std::size_t(2048), std::size_t(65535), std::size_t(65536),
                                   std::size_t(65537), std::size_t(66560), std::size_t(200000)}) {
        CAPTURE(size);
        const std::string input = pattern(size);
        green::Popen cat({"cat"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
        CHECK(cat.communicate(input, 60s).out == input);
        CHECK(cat.returncode() == 0);
    }
}

// communicate parks only its greenlet: others run while the child sleeps.
TEST_CASE("subprocess: other greenlets run while communicate waits") {
    bool ticked = false;
    auto ticker = green::spawn([&] {
        green::sleep(10ms);
        ticked = true;
    });
    test::Bystander others;
    green::Popen p({"sh", "-c", "sleep 0.3; echo done"}, {.out = green::Stdio::pipe});
    CHECK(p.communicate().out == "done\n");
    CHECK(others.ran());
    CHECK(ticked);
}

// On timeout the child keeps running, the TimeoutExpired carries the output so
// far, and a second communicate() goes on where the first stopped, losing no output.
TEST_CASE("subprocess: communicate timeout, then again") {
    green::Popen p({"sh", "-c", "echo first; sleep 1; echo second >&2; echo third"},
                   {.out = green::Stdio::pipe, .err = green::Stdio::pipe});
    test::Stopwatch w;
    try {
        p.communicate({}, 500ms);
        FAIL("no timeout");
    } catch (const green::TimeoutExpired& e) {
        CHECK(e.out() == "first\n");
        CHECK(e.err() == "");
        CHECK(e.args().at(0) == "sh");
        CHECK(e.source() == nullptr);
    }
    CHECK(w.seconds() < 2);
    CHECK_FALSE(p.poll().has_value());
    const green::Output o = p.communicate({}, 10s);
    CHECK(o.out == "first\nthird\n");
    CHECK(o.err == "second\n");
    CHECK(p.returncode() == 0);
}

// A kill of the greenlet in communicate leaves the child running and the Popen
// usable: output read so far is kept.
TEST_CASE("subprocess: communicate killed while waiting") {
    green::Popen p({"sh", "-c", "echo early; exec sleep 10"}, {.out = green::Stdio::pipe});
    auto waiter = green::spawn([&] { return p.communicate(); });
    green::sleep(100ms);
    waiter.kill();
    CHECK(waiter.killed());
    CHECK_FALSE(p.poll().has_value());
    p.kill();
    const green::Output o = p.communicate({}, 10s);
    CHECK(o.out == "early\n");
    CHECK(p.returncode() == -SIGKILL);
}

// A child that exits without reading its input: EPIPE is not an error for
// communicate, and no SIGPIPE reaches this process (it would end it).
TEST_CASE("subprocess: a child that closes stdin early") {
    struct sigaction dfl {}, before {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &before);
    green::Popen p({"head", "-c", "3"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    const green::Output o = p.communicate(pattern(4 << 20), 30s);
    CHECK(o.out == "aho");
    CHECK(p.returncode() == 0);
    sigset_t pending;
    sigpending(&pending);
    CHECK_FALSE(sigismember(&pending, SIGPIPE));
    sigaction(SIGPIPE, &before, nullptr);
}

// wait, poll, returncode, terminate, kill, send_signal as in Python; a wait
// with a timeout throws TimeoutError and leaves the child running.
TEST_CASE("subprocess: wait, poll and signals") {
    green::Popen p({"sleep", "10"});
    CHECK_FALSE(p.poll().has_value());
    CHECK_FALSE(p.returncode().has_value());
    test::Stopwatch w;
    CHECK_THROWS_AS(p.wait(50ms), green::TimeoutError);
    CHECK(w.seconds() < 2);
    CHECK_FALSE(p.poll().has_value());
    test::Bystander others;
    auto stopper = green::spawn([&] {
        green::sleep(20ms);
        p.terminate();
    });
    CHECK(p.wait(10s) == -SIGTERM);
    CHECK(others.ran());
    CHECK(p.returncode() == -SIGTERM);
    p.send_signal(SIGKILL);  // reaped: nothing is sent (its pid may be another's by now)
    p.kill();

    green::Popen q({"sleep", "10"});
    q.send_signal(SIGUSR1);
    CHECK(q.wait() == -SIGUSR1);
    green::Popen r({"sleep", "10"});
    r.kill();
    CHECK(r.wait() == -SIGKILL);
    green::Popen s({"sh", "-c", "exit 42"});
    CHECK(s.wait(10s) == 42);
}

// A kill of a greenlet waiting in wait(): the child goes on, and once the
// Popen is destroyed it is reaped in the background.
TEST_CASE("subprocess: wait killed while waiting") {
    pid_t pid = -1;
    auto waiter = green::spawn([&] {
        green::Popen p({"sleep", "1"});
        pid = p.pid();
        p.wait();
    });
    green::sleep(50ms);
    waiter.kill();
    CHECK(waiter.killed());
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) == 0);  // still running (or not yet reaped)
    CHECK(reaped_within(pid, 10));
}

// A Popen destroyed without a wait leaves no zombie: its child is reaped as it
// exits, whether already done or still running then.
TEST_CASE("subprocess: destroyed without a wait, reaped in the background") {
    pid_t done = -1, running = -1;
    {
        green::Popen p({"true"});
        done = p.pid();
        green::Popen q({"sleep", "0.2"});
        running = q.pid();
        green::sleep(50ms);
    }
    CHECK(reaped_within(done, 10));
    CHECK(reaped_within(running, 10));
    green::sleep(20ms);
    CHECK(no_children());
}

// A Popen destroyed without a wait in a thread that then ends: the reaper
// greenlet ends with that thread's hub, so a plain thread reaps the child.
TEST_CASE("subprocess: a child left by a thread that ended is reaped") {
    // The ended thread's hub keeps its parked greenlets' records for good (as
    // it does for any greenlet parked when its thread ends): LeakSanitizer
    // reports them.
    if (GREEN_SANITIZED) return test::skip("a hub whose thread ended leaks its parked greenlets");
    pid_t pid = -1;
    std::thread([&] {
        green::Popen p({"sleep", "0.3"});
        pid = p.pid();
    }).join();
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) == 0);  // running (or not yet reaped)
    CHECK(reaped_within(pid, 10));
}

// Destroying a Popen under a greenlet that waits on it is misuse: the waiter
// gets std::logic_error (not freed memory), the child is still reaped.
TEST_CASE("subprocess: destroyed while a greenlet waits on it") {
    auto waited = std::make_unique<green::Popen>(std::vector<std::string>{"sleep", "0.2"});
    auto read = std::make_unique<green::Popen>(std::vector<std::string>{"sleep", "0.2"},
                                               green::PopenOptions{.out = green::Stdio::pipe});
    const pid_t pids[] = {waited->pid(), read->pid()};
    auto waiter = green::spawn([&] { return waited->wait(); });
    auto reader = green::spawn([&] { return read->communicate(); });
    green::sleep(20ms);
    waited.reset();
    read.reset();
    CHECK_THROWS_AS(waiter.get(5s), std::logic_error);
    CHECK_THROWS_AS(reader.get(5s), std::logic_error);
    for (pid_t pid : pids) CHECK(reaped_within(pid, 10));
}

// The environment is inherited or exactly the given one, and the program is
// looked up in that environment's PATH; cwd sets the working directory.
TEST_CASE("subprocess: environment, PATH and working directory") {
    ::setenv("GREEN_SUBPROCESS_TEST", "inherited", 1);
    green::Popen inherit({"sh", "-c", "echo $GREEN_SUBPROCESS_TEST"}, {.out = green::Stdio::pipe});
    CHECK(inherit.communicate().out == "inherited\n");

    green::Popen given({"/usr/bin/env"}, {.env = std::vector<std::string>{"A=1", "B=two words"}, .out = green::Stdio::pipe});
    CHECK(given.communicate().out == "A=1\nB=two words\n");

    const std::string script = test::temp_path("green-subprocess-probe");
    {
        std::ofstream f(script);
        f << "#!/bin/sh\necho probe in $(pwd)\n";
    }
    REQUIRE(::chmod(script.c_str(), 0755) == 0);
    const std::string dir = script.substr(0, script.rfind('/'));
    green::Popen found({"green-subprocess-probe"},
                       {.env = std::vector<std::string>{"PATH=/nonexistent:" + dir + ":/usr/bin:/bin"}, .cwd = "/", .out = green::Stdio::pipe});
    CHECK(found.communicate().out == "probe in /\n");
    CHECK(found.returncode() == 0);

    green::Popen relative({"./green-subprocess-probe"}, {.cwd = dir, .out = green::Stdio::pipe});
    CHECK(relative.communicate().out == "probe in " + dir + "\n");
}

// Without an environment of its own, the program is looked up in this
// process's PATH as execvp does: a candidate that cannot be run is passed
// over for a later one, relative entries count from the child's cwd, and
// EACCES is the error when a candidate existed but none could run.
TEST_CASE("subprocess: this process's PATH") {
    const std::string base = test::temp_path("green-path-search");
    for (const char* sub : {"/locked", "/runs"}) std::filesystem::create_directories(base + sub);
    for (const char* sub : {"/locked", "/runs"}) {
        std::ofstream(base + sub + "/green-path-probe") << "#!/bin/sh\necho ran from " << sub << "\n";
    }
    REQUIRE(::chmod((base + "/locked/green-path-probe").c_str(), 0644) == 0);
    REQUIRE(::chmod((base + "/runs/green-path-probe").c_str(), 0755) == 0);
    const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
    struct Restore {
        std::string path;
        ~Restore() { ::setenv("PATH", path.c_str(), 1); }
    } restore{saved};

    ::setenv("PATH", (base + "/nonexistent:" + base + "/locked:" + base + "/runs:/usr/bin:/bin").c_str(), 1);
    CHECK(green::run({"green-path-probe"}).out == "ran from /runs\n");
    ::setenv("PATH", "locked:runs:/usr/bin:/bin", 1);
    CHECK(green::run({"green-path-probe"}, {.cwd = base}).out == "ran from /runs\n");
    ::setenv("PATH", (base + "/locked:/usr/bin:/bin").c_str(), 1);
    CHECK(system_error_of([] { green::run({"green-path-probe"}); }).first == EACCES);
    ::setenv("PATH", "/usr/bin:/bin", 1);
    auto [missing, what] = system_error_of([] { green::run({"green-path-probe"}); });
    CHECK(missing == ENOENT);
    CHECK(test::contains(what, "green-path-probe"));
    CHECK(no_children());
}

// stdin/stdout/stderr inherited, piped, /dev/null, or stderr into stdout.
TEST_CASE("subprocess: inherited, devnull and merged streams") {
    green::Popen merged({"sh", "-c", "echo a; echo b >&2; echo c"},
                        {.out = green::Stdio::pipe, .err = green::Stdio::to_stdout});
    CHECK(merged.communicate().out == "a\nb\nc\n");

    green::Popen null_in({"cat"}, {.in = green::Stdio::devnull, .out = green::Stdio::pipe});
    CHECK(null_in.communicate({}, 10s).out == "");
    CHECK(null_in.returncode() == 0);

    green::Popen null_out({"sh", "-c", "echo lost; echo kept >&2"}, {.out = green::Stdio::devnull, .err = green::Stdio::pipe});
    const green::Output o = null_out.communicate();
    CHECK(o.out == "");
    CHECK(o.err == "kept\n");

    // Inherited: the child writes to this process's fd 1, here a file for a moment.
    const std::string file = test::temp_path("green-subprocess-inherit");
    const int saved = ::dup(1);
    const int f = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(f >= 0);
    ::dup2(f, 1);
    ::close(f);
    green::Popen inherit({"sh", "-c", "echo to-parent-stdout; echo also >&2"}, {.err = green::Stdio::to_stdout});
    const int status = inherit.wait(10s);
    ::dup2(saved, 1);
    ::close(saved);
    CHECK(status == 0);
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "to-parent-stdout\nalso\n");
}

// Pipe ends are close-on-exec: a child started later does not hold the first
// child's stdin open, so the first one still sees its end of input.
TEST_CASE("subprocess: pipes are not inherited by sibling children") {
    green::Popen first({"cat"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    green::Popen sibling({"sleep", "10"});
    CHECK(first.communicate("x", 10s).out == "x");
    sibling.kill();
    CHECK(sibling.wait() == -SIGKILL);

    // The shell has its three streams and, under close_fds = false, what this
    // process lets every child inherit (a test runner's descriptors), none of
    // the Popen's own pipe ends.
    green::Popen fds({"sh", "-c", "ls /proc/$$/fd; exit 0"},
                     {.in = green::Stdio::pipe, .out = green::Stdio::pipe, .err = green::Stdio::pipe, .close_fds = false});
    CHECK(fds.communicate().out == inheritable_fds());
}

namespace {

// The descriptors of the shell `options` start, as `ls` lists them.
std::string child_fds(green::PopenOptions options) {
    options.out = green::Stdio::pipe;
    green::Popen p({"sh", "-c", "ls /proc/$$/fd; exit 0"}, std::move(options));  // exit: no exec of ls
    return p.communicate({}, 10s).out;
}

std::string listing(std::set<std::string> names) {
    std::string list;
    for (const std::string& n : names) list += n + "\n";
    return list;
}

}  // namespace

// By default (close_fds) the child has 0, 1, 2 and pass_fds, which keep their
// numbers, close-on-exec here or not, and work; close_fds = false also lets it
// inherit what is not close-on-exec. A negative or closed descriptor in
// pass_fds is refused before anything starts.
TEST_CASE("subprocess: close_fds and pass_fds") {
    int open_pipe[2], cloexec_pipe[2];
    REQUIRE(::pipe(open_pipe) == 0);  // not close-on-exec: inherited under close_fds = false
    REQUIRE(::pipe2(cloexec_pipe, O_CLOEXEC) == 0);
    const std::string open_end = std::to_string(open_pipe[1]), cloexec_end = std::to_string(cloexec_pipe[1]);
    CHECK(child_fds({}) == "0\n1\n2\n");
    CHECK(child_fds({.pass_fds = {open_pipe[1], cloexec_pipe[1], 2, cloexec_pipe[1]}}) ==
          listing({"0", "1", "2", open_end, cloexec_end}));
    CHECK(child_fds({.pass_fds = {cloexec_pipe[1]}}) == listing({"0", "1", "2", cloexec_end}));
    const std::string inherited = child_fds({.close_fds = false});
    CHECK(inherited == inheritable_fds());
    CHECK(test::contains(inherited, "\n" + open_end + "\n"));
    CHECK_FALSE(test::contains(inherited, "\n" + cloexec_end + "\n"));
    CHECK(test::contains(child_fds({.close_fds = false, .pass_fds = {cloexec_pipe[1]}}), "\n" + cloexec_end + "\n"));

    // The passed descriptor is the same pipe.
    CHECK(green::run({"sh", "-c", "echo through >&" + cloexec_end}, {.pass_fds = {cloexec_pipe[1]}}).returncode == 0);
    char got[16] = {};
    CHECK(::read(cloexec_pipe[0], got, sizeof got) == 8);
    CHECK(std::string(got) == "through\n");

    CHECK_THROWS_AS(green::Popen({"true"}, {.pass_fds = {-1}}), std::invalid_argument);
    const int closed = ::dup(0);
    ::close(closed);
    CHECK(system_error_of([&] { green::Popen({"true"}, {.pass_fds = {closed}}); }).first == EBADF);
    for (int fd : {open_pipe[0], open_pipe[1], cloexec_pipe[0], cloexec_pipe[1]}) ::close(fd);
}

// start_new_session: the child leads a session of its own (its session id is
// its pid); without it, it stays in this one.
TEST_CASE("subprocess: start_new_session") {
    auto session_of = [](bool new_session) {
        green::Popen p({"sh", "-c", "cat /proc/$$/stat"}, {.out = green::Stdio::pipe, .start_new_session = new_session});
        const std::string stat = p.communicate({}, 10s).out;
        // "pid (comm) state ppid pgrp session ...": the fields after the name.
        std::istringstream rest(stat.substr(stat.rfind(')') + 1));
        std::string state;
        long ppid = 0, pgrp = 0, session = 0;
        rest >> state >> ppid >> pgrp >> session;
        return std::pair<long, long>(session, p.pid());
    };
    const auto [own, pid] = session_of(true);
    CHECK(own == pid);
    CHECK(session_of(false).first == ::getsid(0));
}

namespace {

// The signal masks `cat` reads from its /proc/self/status ("SigBlk:\t0000...").
std::map<std::string, unsigned long long> signal_masks_of_child(const green::RunOptions& options = {}) {
    std::istringstream lines(green::run({"cat", "/proc/self/status"}, options).out);  // cat handles no signal
    std::map<std::string, unsigned long long> masks;
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("SigBlk:") || line.starts_with("SigIgn:") || line.starts_with("SigCgt:"))
            masks[line.substr(0, 7)] = std::stoull(line.substr(7), nullptr, 16);
    return masks;
}

unsigned long long bit(int sig) { return 1ULL << (sig - 1); }

// Runs `fn` on a thread whose system calls pass a seccomp filter that refuses
// clone3 with ENOSYS, as Docker's default profile does. False if filters
// cannot be installed here.
template <class Fn>
bool without_clone3(Fn&& fn) {
    bool installed = false;
    std::thread([&] {
        sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
        installed = ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
        if (installed) fn();
    }).join();
    return installed;
}

}  // namespace

// A child starts as a new program expects, whatever this process does with
// signals: nothing blocked, no handler (they cannot survive an exec), SIGPIPE
// and SIGXFSZ at their defaults, other ignored signals still ignored (as
// Python's restore_signals). The same where the kernel cannot clear the
// handlers for us (clone3 refused by a seccomp filter, as in Docker).
TEST_CASE("subprocess: the signal dispositions and mask a child starts with") {
    struct sigaction handled {}, ignored{}, before[4];
    handled.sa_handler = [](int) {};
    ignored.sa_handler = SIG_IGN;
    const int changed[] = {SIGUSR1, SIGUSR2, SIGPIPE, SIGXFSZ};
    ::sigaction(SIGUSR1, &handled, &before[0]);
    ::sigaction(SIGUSR2, &ignored, &before[1]);
    ::sigaction(SIGPIPE, &ignored, &before[2]);
    ::sigaction(SIGXFSZ, &handled, &before[3]);
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &term, &old_mask);

    const auto check = [](const std::map<std::string, unsigned long long>& m) {
        REQUIRE(m.count("SigBlk:") == 1);
        CHECK(m.at("SigBlk:") == 0);
        CHECK(m.at("SigCgt:") == 0);
        CHECK(m.at("SigIgn:") == bit(SIGUSR2));
    };
    check(signal_masks_of_child());
    check(signal_masks_of_child({.cwd = "/", .start_new_session = true}));
    std::map<std::string, unsigned long long> masks;
    std::pair<int, std::string> missing;
    const bool filtered = without_clone3([&] {
        ::pthread_sigmask(SIG_BLOCK, &term, nullptr);
        masks = signal_masks_of_child();
        missing = system_error_of([] { green::run({"green-no-such-program-xyz"}); });
    });

    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    for (int i = 0; i < 4; ++i) ::sigaction(changed[i], &before[i], nullptr);
    CHECK(no_children());
    if (!filtered) return test::skip("seccomp filters cannot be installed here");
    check(masks);
    CHECK(missing.first == ENOENT);
}

// Bad arguments throw std::invalid_argument; a program or directory that cannot
// be used throws std::system_error with the errno and its name, leaving no
// child and no descriptor behind.
TEST_CASE("subprocess: bad input") {
    green::yield();  // the hub exists from here, with its own descriptors
    const int fds_before = test::open_fds();
    CHECK_THROWS_AS(green::Popen({}), std::invalid_argument);
    CHECK_THROWS_AS(green::Popen({std::string("ec\0ho", 5)}), std::invalid_argument);
    CHECK_THROWS_AS(green::Popen({"true"}, {.env = std::vector<std::string>{"NOEQUALS"}}), std::invalid_argument);
    CHECK_THROWS_AS(green::Popen({"true"}, {.cwd = std::string("/\0tmp", 5)}), std::invalid_argument);
    CHECK_THROWS_AS(green::Popen({"true"}, {.out = green::Stdio::to_stdout}), std::invalid_argument);
    CHECK_THROWS_AS(green::Popen({"true"}, {.in = green::Stdio::to_stdout}), std::invalid_argument);

    auto [missing, missing_what] = system_error_of([] { green::Popen({"green-no-such-program-xyz"}, {.out = green::Stdio::pipe}); });
    CHECK(missing == ENOENT);
    CHECK(test::contains(missing_what, "green-no-such-program-xyz"));
    CHECK(system_error_of([] { green::Popen({"/nonexistent/prog"}); }).first == ENOENT);
    CHECK(system_error_of([] { green::Popen({"/tmp"}); }).first == EACCES);
    const std::string plain = test::temp_path("green-not-executable");
    std::ofstream(plain) << "echo no\n";
    CHECK(system_error_of([&] { green::Popen({plain}, {.in = green::Stdio::pipe}); }).first == EACCES);
    auto [nodir, nodir_what] = system_error_of([] { green::Popen({"true"}, {.cwd = "/nonexistent-dir"}); });
    CHECK(nodir == ENOENT);
    CHECK(test::contains(nodir_what, "/nonexistent-dir"));
    CHECK(no_children());
    CHECK(test::open_fds() == fds_before);

    green::Popen p({"cat"}, {.in = green::Stdio::devnull, .out = green::Stdio::pipe});
    CHECK_THROWS_AS(p.communicate("input without a stdin pipe"), std::logic_error);
    CHECK_THROWS_AS(p.send_signal(-1), std::invalid_argument);
    CHECK_THROWS_AS(p.send_signal(NSIG), std::invalid_argument);
    CHECK_THROWS_AS(p.wait(-1s), std::invalid_argument);
    green::Popen q({"sleep", "10"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    CHECK_THROWS_AS(q.communicate({}, 0s), green::TimeoutError);
    CHECK_THROWS_AS(q.communicate("late input", 1s), std::logic_error);
    green::Popen busy({"sleep", "10"}, {.out = green::Stdio::pipe});
    auto first = green::spawn([&] { return busy.communicate(); });
    green::yield();
    CHECK_THROWS_AS(busy.communicate({}, 1s), std::logic_error);  // one greenlet at a time
    CHECK_FALSE(first.ready());
    first.kill();
    busy.kill();
    CHECK(busy.wait() == -SIGKILL);
    green::Popen moved = std::move(q);
    CHECK_THROWS_AS((void)q.pid(), std::logic_error);
    moved.kill();
    CHECK(moved.wait() == -SIGKILL);
}

// What read() returns until `want` has come (or the stream ends).
template <class Read>
std::string read_until(Read&& read, const std::string& want) {
    std::string got;
    while (got.find(want) == std::string::npos) {
        const std::string part = read();
        if (part.empty()) break;
        got += part;
    }
    return got;
}

// A conversation: write, read the answer, write again, close, read to the end.
TEST_CASE("subprocess: write_stdin, read_stdout, read_stderr") {
    green::Popen cat({"cat"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    // Nothing can be read before the greenlet that writes has run: the read parks.
    auto hello = green::spawn([&] { cat.write_stdin("hello\n"); });
    CHECK(read_until([&] { return cat.read_stdout(); }, "\n") == "hello\n");
    CHECK(hello.ready());
    const std::string big = pattern(1 << 20);
    auto writer = green::spawn([&] {
        cat.write_stdin(big, 30s);  // more than the pipe holds: the reader drains it meanwhile
        cat.close_stdin();
    });
    std::string rest;
    for (std::string part; !(part = cat.read_stdout(4096, 30s)).empty();) rest += part;
    writer.get();
    CHECK(rest == big);
    CHECK(cat.read_stdout() == "");  // the end, again
    CHECK(cat.wait(10s) == 0);

    green::Popen echo_err({"sh", "-c", "read line; echo \"err: $line\" >&2"}, {.in = green::Stdio::pipe, .err = green::Stdio::pipe});
    echo_err.write_stdin("x\n", 5s);
    CHECK(read_until([&] { return echo_err.read_stderr(100, 10s); }, "\n") == "err: x\n");
    CHECK(echo_err.wait() == 0);
}

// A stream call that runs out of time throws TimeoutError; the Popen stays usable.
TEST_CASE("subprocess: stream timeouts") {
    green::Popen p({"sleep", "10"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe, .err = green::Stdio::pipe});
    test::Stopwatch w;
    CHECK_THROWS_AS(p.read_stdout(100, 50ms), green::TimeoutError);
    CHECK_THROWS_AS(p.read_stderr(100, 50ms), green::TimeoutError);
    CHECK_THROWS_AS(p.write_stdin(pattern(4 << 20), 50ms), green::TimeoutError);  // nobody reads: the pipe fills
    CHECK(w.seconds() < 5);
    CHECK_THROWS_AS(p.read_stdout(100, 0ms), green::TimeoutError);
    p.kill();
    CHECK(p.wait() == -SIGKILL);
    CHECK(p.read_stdout(100, 5s) == "");
}

// A kill of a greenlet in a stream call ends it; the Popen stays usable.
TEST_CASE("subprocess: stream calls killed while waiting") {
    green::Popen p({"sleep", "10"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe, .err = green::Stdio::pipe});
    auto reader = green::spawn([&] { return p.read_stdout(); });
    auto err_reader = green::spawn([&] { return p.read_stderr(); });
    auto writer = green::spawn([&] { p.write_stdin(pattern(4 << 20)); });
    green::sleep(50ms);
    reader.kill();
    err_reader.kill();
    writer.kill();
    CHECK(reader.killed());
    CHECK(err_reader.killed());
    CHECK(writer.killed());
    CHECK_THROWS_AS(p.read_stdout(100, 10ms), green::TimeoutError);  // usable again
    p.kill();
    CHECK(p.wait() == -SIGKILL);
}

// Streams that are not pipes, a closed stdin, max 0, two readers at once: clear
// exceptions. A child that exited: write_stdin throws EPIPE and no SIGPIPE
// reaches this process.
TEST_CASE("subprocess: stream bad input") {
    struct sigaction dfl {}, before {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &before);
    green::yield();
    const int fds_before = test::open_fds();
    {
        green::Popen plain({"true"});
        CHECK_THROWS_AS(plain.write_stdin("x"), std::logic_error);
        CHECK_THROWS_AS((void)plain.read_stdout(), std::logic_error);
        CHECK_THROWS_AS((void)plain.read_stderr(), std::logic_error);
        plain.wait();

        green::Popen gone({"true"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
        CHECK(gone.wait(10s) == 0);
        CHECK_THROWS_AS((void)gone.read_stdout(0), std::invalid_argument);
        auto [error, what] = system_error_of([&] { gone.write_stdin(pattern(1 << 20), 5s); });
        CHECK(error == EPIPE);
        CHECK(test::contains(what, "write_stdin"));
        gone.close_stdin();
        CHECK_THROWS_AS(gone.write_stdin("x"), std::logic_error);

        green::Popen busy({"sleep", "10"}, {.out = green::Stdio::pipe});
        auto first = green::spawn([&] { return busy.read_stdout(); });
        green::yield();
        CHECK_THROWS_AS((void)busy.read_stdout(100, 1s), std::logic_error);
        CHECK_THROWS_AS((void)busy.communicate({}, 1s), std::logic_error);
        first.kill();
        auto talking = green::spawn([&] { return busy.communicate(); });
        green::yield();
        CHECK_THROWS_AS((void)busy.read_stdout(100, 1s), std::logic_error);
        talking.kill();
        busy.kill();
        CHECK(busy.wait() == -SIGKILL);
    }
    sigset_t pending;
    sigpending(&pending);
    CHECK_FALSE(sigismember(&pending, SIGPIPE));
    CHECK(test::open_fds() == fds_before);
    sigaction(SIGPIPE, &before, nullptr);
}

// run() returns the status and the captured output, feeding `input`.
TEST_CASE("subprocess: run") {
    const green::CompletedProcess r = green::run({"sh", "-c", "echo hi; echo oops >&2; exit 2"});
    CHECK(r.returncode == 2);
    CHECK(r.out == "hi\n");
    CHECK(r.err == "oops\n");
    CHECK(r.args.at(0) == "sh");
    CHECK(green::run({"cat"}, {.input = "abc"}).out == "abc");
    CHECK(green::run({"pwd"}, {.cwd = "/"}).out == "/\n");
    CHECK(green::run({"true"}, {.check = true}).returncode == 0);
}

// check: a non-zero status throws CalledProcessError with the status and the
// end of stderr; a death by signal is a negative status.
TEST_CASE("subprocess: run with check") {
    try {
        green::run({"sh", "-c", "echo early >&2; echo boom >&2; echo out; exit 5"}, {.check = true});
        FAIL("no exception");
    } catch (const green::CalledProcessError& e) {
        CHECK(e.returncode() == 5);
        CHECK(e.out() == "out\n");
        CHECK(e.err() == "early\nboom\n");
        CHECK(test::contains(e.what(), "status 5"));
        CHECK(test::contains(e.what(), "boom"));
    }
    try {
        green::run({"sh", "-c", "kill -9 $$"}, {.check = true});
        FAIL("no exception");
    } catch (const green::CalledProcessError& e) {
        CHECK(e.returncode() == -SIGKILL);
        CHECK(test::contains(e.what(), "signal 9"));
    }
}

// run's timeout comes out as TimeoutExpired with what the child had said by then.
TEST_CASE("subprocess: run timeout gives the output so far") {
    try {
        green::run({"sh", "-c", "echo partial; echo oops >&2; exec sleep 10"}, {.timeout = 500ms});
        FAIL("no timeout");
    } catch (const green::TimeoutExpired& e) {
        CHECK(e.out() == "partial\n");
        CHECK(e.err() == "oops\n");
        CHECK(e.args() == std::vector<std::string>{"sh", "-c", "echo partial; echo oops >&2; exec sleep 10"});
    }
    CHECK(no_children());
}

// run's timeout kills the child and reaps it before TimeoutError comes out.
TEST_CASE("subprocess: run timeout kills and reaps the child") {
    const std::string file = test::temp_path("green-run-timeout-pid");
    test::Stopwatch w;
    CHECK_THROWS_AS(green::run({"sh", "-c", "echo $$ > " + file + "; exec sleep 10"}, {.timeout = 300ms}),
                    green::TimeoutError);
    CHECK(w.seconds() < 5);
    const pid_t pid = pid_written_to(file);
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) != 0);  // already reaped: not even a zombie
    CHECK(no_children());
}

// A greenlet killed inside run(): its child is killed too, and reaped.
TEST_CASE("subprocess: run killed while waiting") {
    const std::string file = test::temp_path("green-run-killed-pid");
    auto runner = green::spawn([&] { return green::run({"sh", "-c", "echo $$ > " + file + "; exec sleep 10"}); });
    const pid_t pid = pid_written_to(file);
    REQUIRE(pid > 0);
    runner.kill();
    CHECK(runner.killed());
    CHECK(reaped_within(pid, 10));
    CHECK(no_children());
}

// run's bad input: what Popen refuses, and a negative timeout.
TEST_CASE("subprocess: run bad input") {
    green::yield();
    const int fds_before = test::open_fds();
    CHECK_THROWS_AS(green::run({}), std::invalid_argument);
    CHECK(system_error_of([] { green::run({"green-no-such-program-xyz"}); }).first == ENOENT);
    CHECK_THROWS_AS(green::run({"true"}, {.timeout = -1s}), std::invalid_argument);
    CHECK(green::run({"true"}, {.input = ""}).returncode == 0);
    CHECK(test::open_fds() == fds_before);
    green::sleep(20ms);
    CHECK(no_children());
}
