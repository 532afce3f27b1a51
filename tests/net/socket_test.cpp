#include <doctest/doctest.h>

#include <green/green.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

// A listening TCP socket on a free loopback port.
green::Socket listener(const char* host = "127.0.0.1:0") {
    auto at = green::Address::parse(host);
    green::Socket s(at.family(), SOCK_STREAM);
    s.set_option(SOL_SOCKET, SO_REUSEADDR, 1);
    s.bind(at);
    s.listen();
    return s;
}

int errno_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.code().value();
    }
    return 0;
}

}  // namespace

// A TCP client and server in two greenlets of one thread exchange data.
TEST_CASE("socket: TCP echo between greenlets") {
    auto srv = listener();
    auto server = green::spawn([&] {
        green::Address peer;
        green::Socket c = srv.accept(&peer);
        CHECK(peer.host() == "127.0.0.1");
        char buf[100];
        while (std::size_t n = c.recv_into(buf, sizeof buf)) c.sendall(buf, n);
    });
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    CHECK(c.peer_address() == srv.local_address());
    c.sendall("ping");
    CHECK(c.recv(100) == "ping");
    c.shutdown(SHUT_WR);
    CHECK(c.recv(100).empty());  // the server closed after our half-close
    server.join();
}

// IPv6 over ::1 works like IPv4.
TEST_CASE("socket: IPv6") {
    auto srv = listener("[::1]:0");
    auto server = green::spawn([&] { srv.accept().sendall("six"); });
    auto c = green::create_connection("::1", srv.local_address().port(), 2s);
    CHECK(c.recv(10) == "six");
    server.join();
}

// Unix stream sockets work, with the same API.
TEST_CASE("socket: unix socket") {
    const std::string path = test::temp_path("echo.sock");
    ::unlink(path.c_str());
    green::Socket srv(AF_UNIX, SOCK_STREAM);
    srv.bind(green::Address::unix_path(path));
    srv.listen();
    auto server = green::spawn([&] { srv.accept().sendall("unix"); });
    green::Socket c(AF_UNIX, SOCK_STREAM);
    c.connect(green::Address::unix_path(path));
    CHECK(c.recv(10) == "unix");
    server.join();
    ::unlink(path.c_str());
}

// UDP datagrams with recvfrom/sendto, and a recvfrom timeout.
TEST_CASE("socket: UDP") {
    green::Socket a(AF_INET, SOCK_DGRAM), b(AF_INET, SOCK_DGRAM);
    a.bind(green::Address::parse("127.0.0.1:0"));
    b.bind(green::Address::parse("127.0.0.1:0"));
    auto receiver = green::spawn([&] {
        char buf[64];
        green::Address from;
        const std::size_t n = a.recvfrom(buf, sizeof buf, from);
        return std::pair(std::string(buf, n), from);
    });
    green::yield();
    b.sendto("datagram", 8, a.local_address());
    auto [text, from] = receiver.get();
    CHECK(text == "datagram");
    CHECK(from == b.local_address());
    a.set_timeout(20ms);
    char buf[8];
    green::Address from2;
    CHECK_THROWS_AS(a.recvfrom(buf, sizeof buf, from2), green::TimeoutError);
}

// Connecting to a port nobody listens on fails with ECONNREFUSED.
TEST_CASE("socket: connection refused") {
    const int port = test::free_port();
    green::Socket c(AF_INET, SOCK_STREAM);
    CHECK(errno_of([&] { c.connect(green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port))); }) == ECONNREFUSED);
    CHECK(errno_of([&] { green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port), 1s); }) == ECONNREFUSED);
}

// recv and send honour the socket's timeout with TimeoutError.
TEST_CASE("socket: recv and send time out") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    green::Socket peer = srv.accept();
    c.set_timeout(30ms);
    test::Stopwatch w;
    CHECK_THROWS_AS(c.recv(10), green::TimeoutError);
    CHECK(w.seconds() >= 0.029);
    CHECK(w.seconds() < 2);
    // Nobody reads on the other side: the send buffers fill up, then sendall times out.
    c.set_option(SOL_SOCKET, SO_SNDBUF, 4096);
    peer.set_option(SOL_SOCKET, SO_RCVBUF, 4096);
    std::string big(8 << 20, 'x');
    CHECK_THROWS_AS(c.sendall(big), green::TimeoutError);
}

// A connect that gets no answer times out (a listener with a full backlog that
// nobody accepts from stands in for an unreachable host).
TEST_CASE("socket: connect times out") {
    green::Socket srv(AF_INET, SOCK_STREAM);
    srv.bind(green::Address::parse("127.0.0.1:0"));
    srv.listen(0);
    std::vector<green::Socket> fillers;
    bool timed_out = false;
    for (int i = 0; i < 16 && !timed_out; ++i) {
        green::Socket c(AF_INET, SOCK_STREAM);
        try {
            c.connect(srv.local_address(), 100ms);
            fillers.push_back(std::move(c));
        } catch (const green::TimeoutError&) {
            timed_out = true;
        }
    }
    CHECK(timed_out);
}

// Timeout zero makes calls fail with EAGAIN instead of waiting (setblocking(False)).
TEST_CASE("socket: timeout zero never waits") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    c.set_timeout(0s);
    char buf[4];
    CHECK(errno_of([&] { c.recv_into(buf, sizeof buf); }) == EAGAIN);
}

// A peer that resets the connection makes recv fail with ECONNRESET.
TEST_CASE("socket: reset by peer") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    {
        green::Socket peer = srv.accept();
        linger l{1, 0};  // close with RST
        setsockopt(peer.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    CHECK(errno_of([&] { c.recv(10); }) == ECONNRESET);
}

// After the peer half-closes, recv returns end of stream but we can still send.
TEST_CASE("socket: half-close") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    green::Socket peer = srv.accept();
    peer.shutdown(SHUT_WR);
    CHECK(c.recv(10).empty());
    c.sendall("still open");
    CHECK(peer.recv(20) == "still open");
}

// Killing a greenlet blocked in recv unwinds it and leaks no descriptor.
TEST_CASE("socket: kill during recv leaks nothing") {
    auto srv = listener();
    green::yield();  // the hub exists from here, with its own descriptors
    const int before = test::open_fds();
    auto reader = green::spawn([&] {
        green::Socket c(AF_INET, SOCK_STREAM);
        c.connect(srv.local_address());
        c.recv(10);
    });
    green::Socket peer = srv.accept();
    green::yield();
    CHECK(test::open_fds() == before + 2);
    reader.kill();
    CHECK(reader.killed());
    peer.close();
    CHECK(test::open_fds() == before);
}

// Closing a socket another greenlet waits on wakes that greenlet with EBADF.
TEST_CASE("socket: close while another greenlet waits") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    auto reader = green::spawn([&] { return errno_of([&] { c.recv(10); }); });
    green::yield();
    c.close();
    CHECK(reader.get() == EBADF);
    CHECK_FALSE(c.is_open());
    CHECK(errno_of([&] { c.recv(1); }) == EBADF);
}

// A reused descriptor number never gets a stale wake-up: a waiter on a closed fd
// fails with EBADF even when the number names a new socket by then.
TEST_CASE("socket: fd reuse after close") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    const int reused = fds[0];
    auto waiter = green::spawn([&] { return errno_of([&] { green::wait_readable(reused); }); });
    green::yield();
    green::close(fds[0]);
    int again[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, again) == 0);
    ::write(again[1], "x", 1);  // readable: a stale waiter would now wake with success
    CHECK(waiter.get() == EBADF);
    CHECK(green::wait_readable(again[0], 1s));  // the new file works normally
    green::close(again[0]);
    green::close(again[1]);
    green::close(fds[1]);
}

// wait_readable / wait_writable on raw fds, with timeouts and bad fds.
TEST_CASE("io: wait_readable and wait_writable") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    CHECK_FALSE(green::wait_readable(fds[0], 10ms));
    CHECK(green::wait_writable(fds[1], 1s));
    auto writer = green::spawn([&] {
        green::sleep(5ms);
        ::write(fds[1], "z", 1);
    });
    CHECK(green::wait_readable(fds[0], 2s));
    writer.join();
    CHECK(errno_of([] { green::wait_readable(-1); }) == EBADF);
    CHECK_THROWS_AS(green::wait_readable(fds[0], -1s), std::invalid_argument);
    green::close(fds[0]);
    green::close(fds[1]);
    CHECK(errno_of([&] { green::close(fds[0]); }) == EBADF);
}

// Waiting on a number that is not an open descriptor, or on an O_PATH one that
// poll cannot watch, fails at once with EBADF instead of aborting in the loop.
TEST_CASE("io: waiting on a descriptor that is not open") {
    green::yield();  // the hub's descriptors exist: none of them takes the number closed below
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    ::close(fds[0]);  // behind green's back: the fd table has never seen it
    CHECK(errno_of([&] { green::wait_readable(fds[0], 1s); }) == EBADF);
    CHECK(errno_of([&] { green::wait_writable(4000, 1s); }) == EBADF);
    const int path = ::open("/", O_PATH | O_CLOEXEC);
    REQUIRE(path >= 0);
    CHECK(errno_of([&] { green::wait_readable(path, 1s); }) == EBADF);
    ::close(path);
    CHECK(green::wait_writable(fds[1], 1s));  // the table is still usable
    green::close(fds[1]);
}

// A greenlet waiting on an fd can be killed.
TEST_CASE("io: kill during wait_readable") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    auto waiter = green::spawn([&] { green::wait_readable(fds[0]); });
    green::yield();
    waiter.kill();
    CHECK(waiter.killed());
    ::write(fds[1], "z", 1);
    CHECK(green::wait_readable(fds[0], 1s));
    green::close(fds[0]);
    green::close(fds[1]);
}

// Whoever was woken by a readable pipe and leaves it unread, waiting no more
// (returned, killed, timed out): its watcher stops before the loop's next poll,
// so the loop neither spins on the pipe nor counts it as something that could
// still wake a greenlet. One that waits again at once finds it still readable.
TEST_CASE("io: a readable descriptor nobody waits on any more stays quiet") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    for (int i = 0; i < 3; ++i) CHECK(green::wait_readable(fds[0], 1s));
    auto left = green::spawn([&] { return green::wait_readable(fds[0]); });
    auto killed = green::spawn([&] { green::wait_readable(fds[0]); });
    killed.kill();
    CHECK(left.get());
    auto cpu_ms = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
    };
    const double before = cpu_ms();
    green::sleep(300ms);
    CHECK(cpu_ms() - before < 150);  // a loop spinning on the pipe would burn all 300 ms
    green::Event never;
    CHECK_THROWS_AS(never.wait(), green::LoopExit);  // nothing left that could wake it
    green::close(fds[0]);
    green::close(fds[1]);
}

// A socket that is moved keeps working; a moved-from one holds nothing.
TEST_CASE("socket: move semantics and misuse") {
    green::Socket a(AF_INET, SOCK_STREAM);
    const int fd = a.fd();
    green::Socket b = std::move(a);
    CHECK_FALSE(a.is_open());
    CHECK(b.fd() == fd);
    CHECK(errno_of([&] { a.listen(); }) == EBADF);
    CHECK(errno_of([&] { b.bind(green::Address::parse("203.0.113.1:1")); }) == EADDRNOTAVAIL);
    CHECK_THROWS_AS(green::Socket(AF_INET, 12345), std::system_error);
    CHECK(errno_of([] { green::Socket::adopt(-1); }) == EBADF);
}

// Thousands of connections at once in one thread.
TEST_CASE("socket: many concurrent connections") {
    auto srv = listener();
    constexpr int n = 500;
    auto server = green::spawn([&] {
        green::Group handlers;
        for (int i = 0; i < n; ++i) handlers.spawn([c = srv.accept()]() mutable {
            char buf[16];
            while (std::size_t k = c.recv_into(buf, sizeof buf)) c.sendall(buf, k);
        });
        handlers.join();
    });
    std::vector<green::Greenlet<bool>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(green::spawn([&, i] {
            auto c = green::create_connection("127.0.0.1", srv.local_address().port(), 5s);
            const std::string msg = std::to_string(i);
            c.sendall(msg);
            return c.recv(16) == msg;
        }));
    int ok = 0;
    for (auto& c : clients) ok += c.get();
    CHECK(ok == n);
    server.join();
}

// After a short read, recv waits for readiness first: data that arrives later is
// still received, and the socket's timeout still applies.
TEST_CASE("socket: recv after a short read") {
    auto srv = listener();
    green::Socket c(AF_INET, SOCK_STREAM);
    c.connect(srv.local_address());
    green::Socket peer = srv.accept();
    peer.sendall("ab");
    CHECK(c.recv(100) == "ab");  // short: the buffer is now empty
    c.set_timeout(20ms);
    CHECK_THROWS_AS(c.recv(100), green::TimeoutError);
    auto later = green::spawn([&] {
        green::sleep(5ms);
        peer.sendall("cd");
    });
    c.set_timeout(2s);
    CHECK(c.recv(100) == "cd");
    later.join();
    peer.sendall(std::string(300, 'x'));
    std::string got;
    while (got.size() < 300) got += c.recv(64);  // full reads go straight to recv
    CHECK(got == std::string(300, 'x'));
}
