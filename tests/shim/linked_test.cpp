// The shim in linked-in mode: this program links libgreen_preload.so, so plain
// blocking libc calls made inside greenlets are cooperative. Each case checks
// that the call still behaves as libc's would, while other greenlets run.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "support/support.hpp"
#include "support/bystander.hpp"

using namespace std::chrono_literals;

namespace {

struct Pair {
    int a = -1, b = -1;
    explicit Pair(int type = SOCK_STREAM) { REQUIRE(::socketpair(AF_UNIX, type, 0, &a) == 0); }
    ~Pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};


int flags_of(int fd) { return ::fcntl(fd, F_GETFL); }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

}  // namespace

// A plain recv parks only its greenlet: the main greenlet's sleep ends while
// the reader still waits, and the data then arrives.
TEST_CASE("shim: recv in a greenlet lets others run") {
    Pair p;
    auto reader = green::spawn([&] {
        char buf[8] = {};
        const ssize_t n = ::recv(p.a, buf, sizeof buf, 0);
        return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    });
    green::sleep(50ms);
    CHECK_FALSE(reader.ready());
    CHECK(::send(p.b, "hi", 2, 0) == 2);
    CHECK(reader.get() == "hi");
}

// The program's own flags are never changed: F_GETFL shows no O_NONBLOCK while a
// greenlet waits on the socket, nor afterwards; a pipe shared with a child stays blocking.
TEST_CASE("shim: F_GETFL stays as the program set it") {
    Pair p;
    const int before = flags_of(p.a);
    CHECK((before & O_NONBLOCK) == 0);
    auto reader = green::spawn([&] {
        char c;
        return ::read(p.a, &c, 1);
    });
    green::sleep(10ms);
    CHECK(flags_of(p.a) == before);
    ::write(p.b, "x", 1);
    CHECK(reader.get() == 1);
    CHECK(flags_of(p.a) == before);
}

// SO_RCVTIMEO makes recv fail with EAGAIN after the timeout, as in the kernel.
TEST_CASE("shim: SO_RCVTIMEO gives EAGAIN") {
    Pair p;
    timeval tv{0, 100 * 1000};
    REQUIRE(::setsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    timeval back{};
    socklen_t len = sizeof back;
    ::getsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
    CHECK(back.tv_usec == 100 * 1000);
    auto reader = green::spawn([&] {
        char c;
        test::Stopwatch w;
        test::Bystander others;
        const ssize_t n = ::recv(p.a, &c, 1, 0);
        return std::tuple(n == -1 ? errno : 0, w.seconds(), others.ran());
    });
    auto [err, took, others_ran] = reader.get();
    CHECK(err == EAGAIN);
    CHECK(took >= 0.09);
    CHECK(took < 2);
    CHECK(others_ran);
}

// A descriptor the program made non-blocking fails with EAGAIN at once.
TEST_CASE("shim: the program's O_NONBLOCK is honoured") {
    Pair p;
    ::fcntl(p.a, F_SETFL, O_NONBLOCK);
    test::Bystander others;  // another greenlet: the hooks take their cooperative paths
    char c;
    CHECK(::read(p.a, &c, 1) == -1);
    CHECK(errno == EAGAIN);
    CHECK(::recv(p.a, &c, 1, 0) == -1);
    CHECK(errno == EAGAIN);
    Pair q;
    CHECK(::recv(q.a, &c, 1, MSG_DONTWAIT) == -1);
    CHECK(errno == EAGAIN);
}

namespace {
// The read system calls this thread has made, failed ones included (syscr).
long read_calls() {
    char text[512] = {};
    const int fd = ::open("/proc/thread-self/io", O_RDONLY);
    const ssize_t n = fd < 0 ? -1 : ::read(fd, text, sizeof text - 1);
    if (fd >= 0) ::close(fd);
    const char* at = n > 0 ? std::strstr(text, "syscr: ") : nullptr;
    return at ? std::atol(at + 7) : -1;
}
}  // namespace

// After a read that emptied the buffer, the next read waits for readiness
// before it tries, as an epoll loop does: a ping-pong costs one read call per
// message, not a failed attempt and a read. It is a hint only: data already
// there, a timeout, the program's O_NONBLOCK and recv behave as before.
TEST_CASE("shim: a read after a short read waits before it tries") {
    Pair p;
    constexpr int kRounds = 200;
    auto echo = green::spawn([&] {
        char buf[256];
        ssize_t n;
        while ((n = ::read(p.a, buf, sizeof buf)) > 0) ::write(p.a, buf, static_cast<size_t>(n));
    });
    const long before = read_calls();
    REQUIRE(before >= 0);
    int answered = 0;
    for (int i = 0; i < kRounds; ++i) {
        char buf[256];
        ::write(p.b, "ping", 4);
        if (::read(p.b, buf, sizeof buf) == 4 && std::memcmp(buf, "ping", 4) == 0) ++answered;
    }
    const long calls = read_calls() - before;
    CHECK(answered == kRounds);
    // Both sides read once per round (and read_calls() twice); a failed attempt
    // before each read would double it.
    CHECK_MESSAGE(calls <= 2 * kRounds + kRounds / 4, calls << " read calls for " << kRounds << " rounds");
    ::shutdown(p.b, SHUT_WR);
    echo.get();

    test::Bystander others;  // another greenlet: the hooks take their cooperative paths
    char buf[64];
    auto short_read = [&](int from, int to) {
        ::write(to, "ab", 2);
        return ::read(from, buf, sizeof buf) == 2;  // less than asked: the buffer is empty now
    };
    Pair q;
    REQUIRE(short_read(q.a, q.b));
    ::write(q.b, "cd", 2);  // data there before the next read: read at once
    CHECK(::read(q.a, buf, sizeof buf) == 2);
    REQUIRE(short_read(q.a, q.b));
    ::write(q.b, "ef", 2);
    CHECK(::recv(q.a, buf, sizeof buf, 0) == 2);

    Pair timed;
    timeval tv{0, 100 * 1000};
    REQUIRE(::setsockopt(timed.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    REQUIRE(short_read(timed.a, timed.b));
    test::Stopwatch w;
    CHECK(::read(timed.a, buf, sizeof buf) == -1);
    CHECK(errno == EAGAIN);
    CHECK(w.seconds() >= 0.09);
    CHECK(w.seconds() < 2);

    Pair nonblocking;
    ::fcntl(nonblocking.a, F_SETFL, O_NONBLOCK);
    REQUIRE(short_read(nonblocking.a, nonblocking.b));
    CHECK(::read(nonblocking.a, buf, sizeof buf) == -1);
    CHECK(errno == EAGAIN);
}

namespace {
std::atomic<int> pipe_signals{0};
void on_sigpipe(int) { ++pipe_signals; }
}  // namespace

// read and write on a socket behave as libc's: a write to a socket whose peer
// is gone raises SIGPIPE and fails with EPIPE; zero bytes read or write return
// 0 and leave a datagram queued; a datagram longer than the buffer is cut.
TEST_CASE("shim: read and write on sockets as libc's") {
    test::Bystander others;  // another greenlet: the hooks take their cooperative paths
    struct sigaction sa {}, old {};
    sa.sa_handler = on_sigpipe;
    REQUIRE(::sigaction(SIGPIPE, &sa, &old) == 0);
    {
        Pair p;
        ::close(p.b);
        p.b = -1;
        pipe_signals = 0;
        errno = 0;
        CHECK(::write(p.a, "x", 1) == -1);
        CHECK(errno == EPIPE);
        CHECK(pipe_signals == 1);
    }
    ::sigaction(SIGPIPE, &old, nullptr);

    Pair d(SOCK_DGRAM);
    char buf[4];
    CHECK(::write(d.b, "hello", 5) == 5);
    CHECK(::read(d.a, buf, 0) == 0);
    CHECK(::read(d.a, buf, sizeof buf) == 4);  // the rest of the datagram is dropped
    CHECK(std::memcmp(buf, "hell", 4) == 0);
    CHECK(::write(d.b, "", 0) == 0);
    CHECK(::read(d.a, buf, sizeof buf) == 0);  // the empty datagram
}

// Closing a descriptor another greenlet waits on wakes it with EBADF; dup2 over it too.
TEST_CASE("shim: close and dup2 wake waiters with EBADF") {
    for (bool use_dup2 : {false, true}) {
        CAPTURE(use_dup2);
        Pair p;
        auto reader = green::spawn([&] {
            char c;
            return ::recv(p.a, &c, 1, 0) == -1 ? errno : 0;
        });
        green::sleep(10ms);
        if (use_dup2) {
            const int null = ::open("/dev/null", O_RDONLY);
            ::dup2(null, p.a);
            ::close(null);
        } else {
            ::close(p.a);
            p.a = -1;
        }
        CHECK(reader.get() == EBADF);
    }
}

namespace {
std::atomic<int> handled{0};
void on_usr1(int) { ++handled; }

void handle_usr1(bool restart) {
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    REQUIRE(::sigaction(SIGUSR1, &sa, nullptr) == 0);
}
}  // namespace

// A handler without SA_RESTART interrupts a waiting recv with EINTR; with
// SA_RESTART the recv goes on waiting; poll is interrupted either way.
TEST_CASE("shim: signals interrupt as libc does") {
    for (bool restart : {false, true}) {
        CAPTURE(restart);
        handle_usr1(restart);
        struct sigaction reported {};
        ::sigaction(SIGUSR1, nullptr, &reported);
        CHECK(reinterpret_cast<void*>(reported.sa_handler) == reinterpret_cast<void*>(on_usr1));
        Pair p;
        auto reader = green::spawn([&] {
            char c;
            return ::recv(p.a, &c, 1, 0) == -1 ? errno : 0;
        });
        auto poller = green::spawn([&] {
            pollfd f{p.a, POLLIN, 0};
            return ::poll(&f, 1, 5000) == -1 ? errno : 0;
        });
        green::sleep(20ms);
        const int before = handled;
        ::kill(::getpid(), SIGUSR1);
        green::sleep(20ms);
        CHECK(handled == before + 1);
        CHECK(poller.get() == EINTR);
        if (restart) {
            CHECK_FALSE(reader.ready());
            ::send(p.b, "x", 1, 0);
            CHECK(reader.get() == 0);
        } else {
            CHECK(reader.get() == EINTR);
        }
    }
    ::signal(SIGUSR1, SIG_DFL);
}

// Data that arrived together with a signal wins over EINTR, as in the kernel,
// which looks for data before it looks for pending signals; poll reports the
// ready descriptor rather than EINTR too.
TEST_CASE("shim: ready data wins over a signal that arrived with it") {
    handle_usr1(false);
    Pair p, q;
    auto reader = green::spawn([&] {
        char c = 0;
        return ::recv(p.a, &c, 1, 0) == 1 ? c : static_cast<char>(errno);
    });
    auto poller = green::spawn([&] {
        pollfd f{q.a, POLLIN, 0};
        return ::poll(&f, 1, 5000);
    });
    green::sleep(20ms);
    CHECK(::send(p.b, "d", 1, 0) == 1);
    CHECK(::send(q.b, "d", 1, 0) == 1);
    ::kill(::getpid(), SIGUSR1);  // all before the parked greenlets run again
    CHECK(poller.get() == 1);
    CHECK(reader.get() == 'd');
    ::signal(SIGUSR1, SIG_DFL);
}

namespace {

// Runs `call` (a blocking C call) in a greenlet and kills the greenlet while the
// call waits: returns the errno the call failed with. The greenlet must end as
// killed at its next suspension point, back in C++, and run nothing after it.
template <class Call>
int errno_when_killed(Call call) {
    int seen = 0;
    bool after = false;
    auto g = green::spawn([&] {
        if (call() == -1) seen = errno;
        green::sleep(1s);  // the kill arrives here
        after = true;
    });
    green::sleep(10ms);
    g.kill();
    CHECK(g.killed());
    CHECK_FALSE(after);
    return seen;
}

}  // namespace

// A greenlet killed while inside a blocking C call: the C code sees ECANCELED
// (no exception crosses C frames), then the greenlet dies at its next wait.
TEST_CASE("shim: kill of a greenlet blocked in libc") {
    Pair p;
    char c;
    CHECK(errno_when_killed([&] { return ::recv(p.a, &c, 1, 0); }) == ECANCELED);
}

// A green::Timeout bounds a blocking C call the same way.
TEST_CASE("shim: Timeout around a blocking C call") {
    Pair p;
    int seen = 0;
    test::Stopwatch w;
    CHECK_THROWS_AS(green::with_timeout(50ms,
                                        [&] {
                                            char c;
                                            if (::read(p.a, &c, 1) == -1) seen = errno;
                                            green::yield();  // back in C++: TimeoutError is thrown here
                                        }),
                    green::TimeoutError);
    CHECK(seen == ECANCELED);
    CHECK(w.seconds() < 2);
}

// Sleeping greenlets overlap: four 100 ms sleeps, one of each kind, all begin
// before any of them ends (none blocks the thread), and none ends early.
TEST_CASE("shim: sleeps overlap") {
    test::Stopwatch w;
    std::string trace;  // 'b' as a sleep begins, 'e' as it ends
    auto sleeper = [&](auto sleep) {
        return green::spawn([&trace, sleep] {
            trace += 'b';
            const int r = sleep();
            trace += 'e';
            return r;
        });
    };
    std::vector<green::Greenlet<int>> gs;
    gs.push_back(sleeper([] { return ::usleep(100 * 1000); }));
    gs.push_back(sleeper([] {
        timespec ts{0, 100 * 1000 * 1000};
        return ::nanosleep(&ts, nullptr);
    }));
    gs.push_back(sleeper([] {
        timespec ts{0, 100 * 1000 * 1000};
        return ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    }));
    gs.push_back(sleeper([] {
        timespec abs{};
        ::clock_gettime(CLOCK_REALTIME, &abs);
        abs.tv_nsec += 100 * 1000 * 1000;
        if (abs.tv_nsec >= 1000000000L) abs.tv_sec += 1, abs.tv_nsec -= 1000000000L;
        return ::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, nullptr);
    }));
    for (auto& g : gs) CHECK(g.get() == 0);
    CHECK(trace == "bbbbeeee");
    CHECK(w.seconds() >= 0.095);
    timespec bad{0, 2000000000L};
    CHECK(::nanosleep(&bad, nullptr) == -1);
    CHECK(errno == EINVAL);
}

// poll, select and epoll_wait wait cooperatively and report what the kernel reports.
TEST_CASE("shim: poll, select and epoll_wait") {
    Pair p;
    auto writer = green::spawn([&] {  // runs only if poll parks: else poll times out (0)
        green::sleep(40ms);
        ::send(p.b, "x", 1, 0);
    });
    pollfd fds[4] = {{p.a, POLLIN, 0}, {-1, POLLIN, 0}, {p.a, POLLIN, 0}, {p.b, 0, 0}};
    CHECK(::poll(fds, 4, 2000) == 2);  // the duplicate counts twice, the negative fd not at all
    CHECK(fds[0].revents == POLLIN);
    CHECK(fds[1].revents == 0);
    CHECK(fds[3].revents == 0);
    writer.join();

    char c;
    ::recv(p.a, &c, 1, 0);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p.a, &r);
    timeval tv{0, 30 * 1000};
    test::Stopwatch w;
    CHECK(::select(p.a + 1, &r, nullptr, nullptr, &tv) == 0);
    CHECK(w.seconds() >= 0.025);
    CHECK_FALSE(FD_ISSET(p.a, &r));
    CHECK(tv.tv_sec == 0);
    CHECK(tv.tv_usec == 0);

    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{EPOLLIN, {}};
    ev.data.fd = p.a;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, p.a, &ev);
    auto later = green::spawn([&] {
        green::sleep(20ms);
        ::send(p.b, "y", 1, 0);
    });
    epoll_event out[2];
    CHECK(::epoll_wait(ep, out, 2, 2000) == 1);
    const int ready_fd = out[0].data.fd;
    CHECK(ready_fd == p.a);
    later.join();
    ::close(ep);

    CHECK(::poll(nullptr, 0, 20) == 0);  // nfds = 0 is a sleep
    pollfd none{p.a, POLLOUT, 0};
    CHECK(::poll(&none, 1, 0) == 1);  // timeout 0 never waits
}

// Bad arguments get the kernel's errno, never a crash in a hook that reads them
// first: an array, set or signal mask at a bad address is EFAULT, more
// descriptors than RLIMIT_NOFILE EINVAL. A set is read only as far as the
// kernel reads it (n bits). Each call would wait (nothing is ready) and a
// bystander makes the hooks take their cooperative paths.
TEST_CASE("shim: poll, select and epoll_pwait with bad arguments fail as libc's") {
    Pair p;
    const volatile std::uintptr_t nowhere = 16;  // mapped by no process
    auto* bad_fds = reinterpret_cast<pollfd*>(nowhere);
    auto* bad_set = reinterpret_cast<fd_set*>(nowhere);
    auto* bad_mask = reinterpret_cast<sigset_t*>(nowhere);
    rlimit nofile{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &nofile) == 0);
    pollfd one{p.a, POLLIN, 0};
    const timespec ts{0, 20'000'000};
    // A set with only its first 8 bytes mapped: enough for descriptors below 64.
    const long page = ::sysconf(_SC_PAGESIZE);
    void* pages = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(pages != MAP_FAILED);
    REQUIRE(::mprotect(static_cast<char*>(pages) + page, page, PROT_NONE) == 0);
    auto* short_set = reinterpret_cast<fd_set*>(static_cast<char*>(pages) + page - 8);
    REQUIRE(p.a < 64);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event out[1];

    const auto fails_with = [](int expected, auto call) {
        test::Bystander others;
        errno = 0;
        const int r = call();
        const int err = errno;
        CHECK(r == -1);
        CHECK(err == expected);
    };
    const nfds_t too_many = static_cast<nfds_t>(nofile.rlim_cur) + 1;
    if (!kAddressSanitizer) {  // its interceptors read the array (and mask) before any hook
        fails_with(EINVAL, [&] { return ::poll(&one, too_many, 20); });
        fails_with(EFAULT, [&] { return ::poll(bad_fds, 1, 20); });
        fails_with(EINVAL, [&] { return ::ppoll(&one, too_many, &ts, nullptr); });
        fails_with(EFAULT, [&] { return ::ppoll(bad_fds, 1, &ts, nullptr); });
        fails_with(EFAULT, [&] { return ::ppoll(&one, 1, &ts, bad_mask); });
    }
    fails_with(EFAULT, [&] {
        timeval tv{0, 20'000};
        return ::select(p.a + 1, bad_set, nullptr, nullptr, &tv);
    });
    fails_with(EFAULT, [&] {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(p.a, &r);
        timeval tv{0, 20'000};
        return ::select(p.a + 1, &r, nullptr, bad_set, &tv);
    });
    fails_with(EFAULT, [&] { return ::pselect(p.a + 1, nullptr, bad_set, nullptr, &ts, nullptr); });
    fails_with(EFAULT, [&] {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(p.a, &r);
        return ::pselect(p.a + 1, &r, nullptr, nullptr, &ts, bad_mask);
    });
    fails_with(EFAULT, [&] { return ::epoll_pwait(ep, out, 1, 20, bad_mask); });
    {
        test::Bystander others;
        std::memset(short_set, 0, 8);
        FD_SET(p.a, short_set);
        timeval tv{0, 20'000};
        CHECK(::select(p.a + 1, short_set, nullptr, nullptr, &tv) == 0);  // timed out
        CHECK_FALSE(FD_ISSET(p.a, short_set));
    }
    ::close(ep);
    ::munmap(pages, 2 * page);
}

// A blocking write of more than the pipe holds completes while a reader drains it.
TEST_CASE("shim: a large blocking write completes") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::string big(1 << 20, 'z');
    auto reader = green::spawn([&] {
        std::size_t total = 0;
        char buf[65536];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) total += static_cast<std::size_t>(n);
        return total;
    });
    CHECK(::write(fds[1], big.data(), big.size()) == static_cast<ssize_t>(big.size()));
    ::close(fds[1]);
    CHECK(reader.get() == big.size());
    ::close(fds[0]);
}

namespace {

struct Pipe {
    int r = -1, w = -1;
    Pipe() { REQUIRE(::pipe(&r) == 0); }
    ~Pipe() {
        if (r >= 0) ::close(r);
        if (w >= 0) ::close(w);
    }
};

// A connected TCP pair over loopback (a, b) and nothing listening any more.
struct TcpPair {
    int a = -1, b = -1;
    TcpPair() {
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof at;
        REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
        REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len) == 0);
        REQUIRE(::listen(listener, 1) == 0);
        b = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(::connect(b, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
        a = ::accept(listener, nullptr, nullptr);
        REQUIRE(a >= 0);
        ::close(listener);
    }
    ~TcpPair() {
        ::close(a);
        ::close(b);
    }
};

std::string read_some(int fd) {
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

// splice and tee park their greenlet while the side they need is not ready (no
// data to take, or no room to put it) and then move what the plain call moves.
// (The main greenlet's sleep ending while the mover still waits shows it parked.)
TEST_CASE("shim: splice and tee wait cooperatively") {
    // Splices from socket `from` into a pipe while its peer `to` sends later.
    auto splice_from_socket = [&](int from, int to) {
        Pipe out;
        auto mover = green::spawn([&] { return ::splice(from, nullptr, out.w, nullptr, 64, 0); });
        green::sleep(50ms);
        CHECK_FALSE(mover.ready());
        CHECK(::send(to, "spliced", 7, 0) == 7);
        CHECK(mover.get() == 7);
        CHECK(read_some(out.r) == "spliced");
        CHECK((flags_of(from) & O_NONBLOCK) == 0);
    };
    SUBCASE("splice from a unix socket waits for data") {
        Pair p;
        splice_from_socket(p.a, p.b);
    }
    SUBCASE("splice from a TCP socket waits for data, and leaves its flags as they were") {
        TcpPair p;
        splice_from_socket(p.a, p.b);
    }
    SUBCASE("splice into a full pipe waits for room") {
        Pipe in, out;
        const int size = ::fcntl(out.w, F_GETPIPE_SZ);
        REQUIRE(size > 0);
        const std::string fill(static_cast<std::size_t>(size), 'f');
        REQUIRE(::write(out.w, fill.data(), fill.size()) == size);
        REQUIRE(::write(in.w, "x", 1) == 1);
        auto mover = green::spawn([&] { return ::splice(in.r, nullptr, out.w, nullptr, 1, 0); });
        green::sleep(50ms);
        CHECK_FALSE(mover.ready());
        std::string drained(65536, '\0');
        CHECK(::read(out.r, drained.data(), drained.size()) > 0);
        CHECK(mover.get() == 1);
    }
    SUBCASE("tee copies without consuming") {
        Pipe in, out;
        auto mover = green::spawn([&] { return ::tee(in.r, out.w, 64, 0); });
        green::sleep(50ms);
        CHECK_FALSE(mover.ready());
        CHECK(::write(in.w, "teed", 4) == 4);
        CHECK(mover.get() == 4);
        CHECK(read_some(out.r) == "teed");
        CHECK(read_some(in.r) == "teed");
    }
    SUBCASE("end of stream, bad descriptors, the program's O_NONBLOCK") {
        Pipe in, out;
        ::close(in.w);
        in.w = -1;
        CHECK(::splice(in.r, nullptr, out.w, nullptr, 64, 0) == 0);
        errno = 0;
        CHECK(::splice(-1, nullptr, out.w, nullptr, 64, 0) == -1);
        CHECK(errno == EBADF);
        Pair p;
        errno = 0;
        CHECK(::tee(p.a, out.w, 64, 0) == -1);  // tee takes pipes only
        CHECK(errno == EINVAL);
        Pipe empty;
        ::fcntl(empty.r, F_SETFL, O_NONBLOCK);
        errno = 0;
        CHECK(::splice(empty.r, nullptr, out.w, nullptr, 64, 0) == -1);
        CHECK(errno == EAGAIN);
    }
    SUBCASE("a kill while waiting: ECANCELED in C, then the greenlet dies") {
        Pipe in, out;
        CHECK(errno_when_killed([&] { return ::splice(in.r, nullptr, out.w, nullptr, 64, 0); }) == ECANCELED);
    }
}

// splice from a terminal (which SPLICE_F_NONBLOCK would not stop from blocking)
// parks its greenlet until input comes.
TEST_CASE("shim: splice from a terminal waits for input") {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    const int terminal = master >= 0 && ::grantpt(master) == 0 && ::unlockpt(master) == 0
                             ? ::open(::ptsname(master), O_RDWR | O_NOCTTY)
                             : -1;
    if (terminal < 0) {
        if (master >= 0) ::close(master);
        return test::skip("no pseudo-terminals here (/dev/pts)");
    }
    termios raw{};
    ::tcgetattr(terminal, &raw);
    ::cfmakeraw(&raw);
    ::tcsetattr(terminal, TCSANOW, &raw);
    Pipe out;
    auto mover = green::spawn([&] { return ::splice(terminal, nullptr, out.w, nullptr, 64, 0); });
    green::sleep(50ms);
    CHECK_FALSE(mover.ready());
    CHECK(::write(master, "typed", 5) == 5);
    const ssize_t moved = mover.get();
    CHECK(moved > 0);
    CHECK(read_some(out.r) == std::string("typed").substr(0, static_cast<std::size_t>(moved > 0 ? moved : 0)));
    ::close(terminal);
    ::close(master);
}

// waitpid, wait, wait3, wait4 and waitid park their greenlet until the child
// changes state, and report what libc's report.
TEST_CASE("shim: the wait family lets others run") {
    int status = 0;
    pid_t pid = test::child_exiting_after(100, 3);
    {
        test::Bystander others;
        CHECK(::waitpid(pid, &status, 0) == pid);
        CHECK(others.ran());
    }
    CHECK(WEXITSTATUS(status) == 3);
    pid = test::child_exiting_after(50, 4);
    CHECK(::wait(&status) == pid);
    CHECK(WEXITSTATUS(status) == 4);
    pid = test::child_exiting_after(50, 5);
    rusage usage{};
    CHECK(::wait4(pid, &status, 0, &usage) == pid);
    CHECK(WEXITSTATUS(status) == 5);
    pid = test::child_exiting_after(50, 6);
    CHECK(::wait3(&status, 0, nullptr) == pid);
    CHECK(WEXITSTATUS(status) == 6);
    pid = test::child_exiting_after(50, 8);
    siginfo_t info{};
    CHECK(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) == 0);
    CHECK(info.si_pid == pid);
    CHECK(info.si_code == CLD_EXITED);
    CHECK(info.si_status == 8);
    pid = test::child_exiting_after(50, 9);
    CHECK(::waitid(P_ALL, 0, nullptr, WEXITED) == 0);  // a null infop is allowed on Linux
    CHECK(::waitpid(pid, &status, WNOHANG) == -1);     // already reaped
    CHECK(errno == ECHILD);
    CHECK(::waitpid(-1, &status, 0) == -1);
    CHECK(errno == ECHILD);
    CHECK(::waitid(P_ALL, 0, &info, 0) == -1);  // no WEXITED, WSTOPPED or WCONTINUED
    CHECK(errno == EINVAL);
}

// A handler without SA_RESTART interrupts a waiting waitpid with EINTR; with
// SA_RESTART waitpid goes on and reaps the child. A kill gives ECANCELED.
TEST_CASE("shim: waitpid, signals and kills") {
    for (bool restart : {false, true}) {
        CAPTURE(restart);
        handle_usr1(restart);
        const pid_t pid = test::child_exiting_after(200, 1);
        auto waiter = green::spawn([&] { return ::waitpid(pid, nullptr, 0) == pid ? 0 : errno; });
        green::sleep(20ms);
        ::kill(::getpid(), SIGUSR1);
        if (restart) {
            green::sleep(20ms);
            CHECK_FALSE(waiter.ready());
            CHECK(waiter.get() == 0);
        } else {
            CHECK(waiter.get() == EINTR);
            CHECK(::waitpid(pid, nullptr, 0) == pid);
        }
    }
    ::signal(SIGUSR1, SIG_DFL);
    // The SIGCHLD of the very child waited for does not make waitpid fail with
    // EINTR: the kernel finds the child before it looks at pending signals.
    struct sigaction on_child {};
    on_child.sa_handler = on_usr1;
    REQUIRE(::sigaction(SIGCHLD, &on_child, nullptr) == 0);
    {
        const pid_t exiting = test::child_exiting_after(50, 2);
        test::Bystander others;  // another greenlet: waitpid cooperates
        int status = 0;
        CHECK(::waitpid(exiting, &status, 0) == exiting);
        CHECK(others.ran());
        CHECK(WEXITSTATUS(status) == 2);
    }
    ::signal(SIGCHLD, SIG_DFL);
    const pid_t pid = test::child_exiting_after(10000, 0);
    CHECK(errno_when_killed([&] { return ::waitpid(pid, nullptr, 0); }) == ECANCELED);
    ::kill(pid, SIGKILL);
    CHECK(::waitpid(pid, nullptr, 0) == pid);
}

// pause and sigsuspend park their greenlet until a handler runs (EINTR, even
// under SA_RESTART); sigsuspend's mask is the thread's meanwhile. A kill: ECANCELED.
TEST_CASE("shim: pause and sigsuspend wait for a handler while others run") {
    handle_usr1(true);
    auto pauser = green::spawn([] { return ::pause() == -1 ? errno : 0; });
    green::sleep(50ms);  // ends while the pauser waits: it parked
    CHECK_FALSE(pauser.ready());
    ::kill(::getpid(), SIGUSR1);
    CHECK(pauser.get() == EINTR);

    sigset_t usr1, before;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &usr1, &before) == 0);
    sigset_t during = before;
    sigdelset(&during, SIGUSR1);
    auto suspender = green::spawn([&] { return ::sigsuspend(&during) == -1 ? errno : 0; });
    green::sleep(20ms);
    CHECK_FALSE(suspender.ready());
    const int before_count = handled;
    ::kill(::getpid(), SIGUSR1);  // let through: sigsuspend's mask is the thread's now
    CHECK(suspender.get() == EINTR);
    CHECK(handled == before_count + 1);
    sigset_t now;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
    CHECK(sigismember(&now, SIGUSR1) == 1);  // blocked again
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);

    CHECK(errno_when_killed([] { return ::pause(); }) == ECANCELED);
    ::signal(SIGUSR1, SIG_DFL);
}

// A read of a signalfd is an ordinary read: it parks until the signal comes.
TEST_CASE("shim: a signalfd read cooperates") {
    sigset_t usr2, before;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &usr2, &before) == 0);
    const int fd = ::signalfd(-1, &usr2, SFD_CLOEXEC);
    REQUIRE(fd >= 0);
    auto reader = green::spawn([&] {
        signalfd_siginfo info{};
        return ::read(fd, &info, sizeof info) == sizeof info ? static_cast<int>(info.ssi_signo) : -errno;
    });
    green::sleep(50ms);  // ends while the reader waits: it parked
    CHECK_FALSE(reader.ready());
    ::kill(::getpid(), SIGUSR2);
    CHECK(reader.get() == SIGUSR2);
    ::close(fd);
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

// connect and accept cooperate; errors stay libc's.
TEST_CASE("shim: connect and accept") {
    const int srv = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(srv, reinterpret_cast<sockaddr*>(&a), &len);
    ::listen(srv, 8);
    auto acceptor = green::spawn([&] { return ::accept(srv, nullptr, nullptr); });
    green::sleep(20ms);  // ends while the acceptor waits: it parked
    CHECK_FALSE(acceptor.ready());
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    CHECK(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    CHECK((flags_of(c) & O_NONBLOCK) == 0);
    const int s = acceptor.get();
    CHECK(s >= 0);
    ::close(s);
    ::close(c);
    ::close(srv);
    const int refused = ::socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = htons(static_cast<std::uint16_t>(test::free_port()));
    CHECK(::connect(refused, reinterpret_cast<sockaddr*>(&a), sizeof a) == -1);
    CHECK(errno == ECONNREFUSED);
    ::close(refused);
}

// getaddrinfo goes through green's resolver (the hosts file here), and lists
// from it and from glibc free through either freeaddrinfo.
TEST_CASE("shim: getaddrinfo and freeaddrinfo") {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    REQUIRE(::getaddrinfo("localhost", "80", &hints, &res) == 0);
    CHECK(res->ai_family == AF_INET);
    CHECK(std::string(res->ai_canonname) == "localhost");
    CHECK(ntohs(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_port) == 80);
    ::freeaddrinfo(res);
    CHECK(::getaddrinfo("localhost", "no-such-service", &hints, &res) == EAI_SERVICE);
    char host[64], serv[16];
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(22);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, host, sizeof host, serv, sizeof serv, 0) == 0);
    CHECK(std::string(serv) == "ssh");
    char tiny[2];
    CHECK(::getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, tiny, sizeof tiny, nullptr, 0, 0) == EAI_OVERFLOW);
}
