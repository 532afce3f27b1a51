#include <doctest/doctest.h>

#include <green/green.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

// Answers every HTTP request with `body`, after `delay`; one request per connection.
green::StreamServer::Handler http(std::string body, std::chrono::milliseconds delay = 0ms) {
    return [body, delay](green::Socket c, green::Address) {
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
            std::string part = c.recv(4096);
            if (part.empty()) return;
            req += part;
        }
        if (delay.count()) green::sleep(delay);
        c.sendall("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n" + body);
    };
}

std::string url(const green::StreamServer& s, const std::string& path = "/") {
    return "http://" + s.address().to_string() + path;
}

// Runs a client program in a greenlet-friendly way: a thread does the blocking
// wait while this greenlet keeps the hub serving.
test::RunResult run_client(std::vector<std::string> argv) {
    return green::run_in_thread([argv] { return test::run(argv); });
}

}  // namespace

// Port 0 picks a free port, address() reports it, and curl gets the answer.
TEST_CASE("server: curl as a client") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("hello from green"));
    server.start();
    CHECK(server.address().port() != 0);
    auto r = run_client({"/usr/bin/curl", "-s", "--max-time", "10", url(server)});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello from green");
    server.stop();
}

// python3's urllib and raw sockets are clients too, many at once.
TEST_CASE("server: python3 clients") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("py"));
    server.start();
    const std::string script =
        "import sys, urllib.request, concurrent.futures as f\n"
        "u = sys.argv[1]\n"
        "with f.ThreadPoolExecutor(20) as ex:\n"
        "    got = list(ex.map(lambda _: urllib.request.urlopen(u, timeout=10).read(), range(50)))\n"
        "print(sum(g == b'py' for g in got))\n";
    auto r = run_client({"/usr/bin/env", "python3", "-c", script, url(server)});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "50\n");
    server.stop();
}

// The classic demo: 200 concurrent fetches of a page that takes 200 ms finish in
// well under 2 s (not the 40 s they take in turn), while a 10 ms ticker on the
// same thread keeps its turn: its timer is due long before any reply, so it
// ticks before the fetches are done however slow the machine.
TEST_CASE("server: 200 concurrent slow fetches") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("slow", 200ms));
    server.start();
    int ticks = 0;
    bool stop = false;
    auto ticker = green::spawn([&] {
        while (!stop) {
            green::sleep(10ms);
            ++ticks;
        }
    });
    test::Stopwatch w;
    std::vector<green::Greenlet<std::string>> fetches;
    for (int i = 0; i < 200; ++i)
        fetches.push_back(green::spawn([&] {
            auto c = green::create_connection("127.0.0.1", server.address().port(), 5s);
            c.sendall("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            std::string reply;
            while (true) {
                std::string part = c.recv(4096);
                if (part.empty()) break;
                reply += part;
            }
            return reply;
        }));
    int ok = 0;
    for (auto& f : fetches) ok += f.get().ends_with("\r\n\r\nslow");
    const double took = w.seconds();
    const int ticks_while_fetching = ticks;
    stop = true;
    ticker.join();
    CHECK(ok == 200);
    CHECK(took < 2.0);
    CHECK(ticks_while_fetching >= 1);
    server.stop();
}

// A Pool caps how many handlers run at once; the others wait in the backlog.
TEST_CASE("server: max_connections") {
    std::atomic<int> running{0}, peak{0};
    green::StreamServer server(
        green::Address::parse("127.0.0.1:0"),
        [&](green::Socket c, green::Address) {
            peak = std::max(peak.load(), ++running);
            green::sleep(20ms);
            --running;
            c.sendall("x");
        },
        green::ServerOptions{.max_connections = 3});
    server.start();
    std::vector<green::Greenlet<std::string>> clients;
    for (int i = 0; i < 10; ++i)
        clients.push_back(green::spawn([&] {
            auto c = green::create_connection("127.0.0.1", server.address().port(), 5s);
            return c.recv(1);
        }));
    for (auto& c : clients) CHECK(c.get() == "x");
    CHECK(peak == 3);
    server.stop();
}

// stop(grace) closes the listener, lets handlers finish within the grace period,
// and kills the ones that take longer.
TEST_CASE("server: stop with grace") {
    int finished = 0, killed = 0;
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), [&](green::Socket, green::Address) {
        try {
            green::sleep(50ms);
            ++finished;
            green::sleep(10s);
        } catch (const green::GreenletExit&) {
            ++killed;
            throw;
        }
    });
    server.start();
    const auto port = server.address().port();
    std::vector<green::Socket> conns;
    for (int i = 0; i < 3; ++i) conns.push_back(green::create_connection("127.0.0.1", port, 2s));
    green::sleep(10ms);
    CHECK(server.connections() == 3);
    test::Stopwatch w;
    server.stop(100ms);
    CHECK(w.seconds() < 1);
    CHECK(finished == 3);
    CHECK(killed == 3);
    CHECK(server.connections() == 0);
    green::Socket late(AF_INET, SOCK_STREAM);
    CHECK_THROWS_AS(late.connect(green::Address::ip("127.0.0.1", port)), std::system_error);
}

// serve_forever returns once another greenlet calls stop.
TEST_CASE("server: serve_forever until stop") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("x"));
    auto stopper = green::spawn([&] {
        green::sleep(30ms);
        server.stop();
    });
    test::Stopwatch w;
    server.serve_forever();
    CHECK(w.seconds() < 2);
    stopper.join();
}

// A handler that throws is reported and does not stop the server.
TEST_CASE("server: a failing handler does not stop it") {
    int calls = 0;
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), [&](green::Socket c, green::Address) {
        if (++calls == 1) throw std::runtime_error("handler failed");
        c.sendall("ok");
    });
    server.start();
    green::create_connection("127.0.0.1", server.address().port(), 2s).recv(10);
    auto second = green::create_connection("127.0.0.1", server.address().port(), 2s);
    CHECK(second.recv(10) == "ok");
    server.stop();
}

// A client that connects and says nothing holds its handler only until
// idle_timeout: the server closes the connection and counts it.
TEST_CASE("server: idle_timeout closes a silent connection") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("x"),
                               {.idle_timeout = 200ms});
    server.start();
    auto silent = green::create_connection("127.0.0.1", server.address().port(), 2s);
    silent.set_timeout(5s);
    test::Stopwatch w;
    CHECK(silent.recv(10).empty());  // closed by the server, not by our 5 s
    CHECK(w.seconds() < 3);
    CHECK(server.timed_out() == 1);
    CHECK(server.connections() == 0);
    server.stop();
}

// A client that keeps the connection busy a byte at a time is still cut off
// at connection_timeout.
TEST_CASE("server: connection_timeout bounds a trickling client") {
    green::StreamServer server(
        green::Address::parse("127.0.0.1:0"),
        [](green::Socket c, green::Address) {
            for (std::string part; !(part = c.recv(100)).empty();) c.sendall(part);
        },
        {.idle_timeout = 1000ms, .connection_timeout = 300ms});
    server.start();
    auto trickle = green::create_connection("127.0.0.1", server.address().port(), 2s);
    trickle.set_timeout(5s);
    test::Stopwatch w;
    bool cut = false;
    for (int i = 0; i < 100 && !cut; ++i) {
        try {
            trickle.sendall("a");
            cut = trickle.recv(1).empty();
        } catch (const std::system_error&) {
            cut = true;  // reset while sending
        }
        green::sleep(50ms);
    }
    CHECK(cut);
    CHECK(w.seconds() < 3);
    CHECK(server.timed_out() == 1);
    server.stop();
}

// Slowloris: idle clients that fill max_connections no longer deny service;
// each frees its slot at idle_timeout and a real client is served.
TEST_CASE("server: idle clients cannot hold every slot") {
    green::StreamServer server(green::Address::parse("127.0.0.1:0"), http("served"),
                               {.max_connections = 2, .idle_timeout = 200ms});
    server.start();
    const auto port = server.address().port();
    std::vector<green::Socket> idle;
    for (int i = 0; i < 2; ++i) idle.push_back(green::create_connection("127.0.0.1", port, 2s));
    green::sleep(50ms);  // both slots taken
    auto client = green::create_connection("127.0.0.1", port, 2s);
    client.set_timeout(3s);
    client.sendall("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string reply;
    for (std::string part; !(part = client.recv(4096)).empty();) reply += part;
    CHECK(reply.find("served") != std::string::npos);
    // The second idle client's limit may fire just after the reply (it was
    // accepted a little later than the first): both fire, in well under 2 s.
    for (int i = 0; i < 200 && server.timed_out() < 2; ++i) green::sleep(10ms);
    CHECK(server.timed_out() == 2);
    server.stop();
}

// A TimeoutError of the handler's own Timeout is the handler's failure: it is
// reported, not counted as a limit that fired; bad limits are refused.
TEST_CASE("server: timeouts, bad input and a handler's own Timeout") {
    CHECK_THROWS_AS(green::StreamServer(green::Address::parse("127.0.0.1:0"), http("x"), {.idle_timeout = -1ms}),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        green::StreamServer(green::Address::parse("127.0.0.1:0"), http("x"), {.connection_timeout = -5ms}),
        std::invalid_argument);
    green::StreamServer server(
        green::Address::parse("127.0.0.1:0"),
        [](green::Socket, green::Address) {
            green::Timeout mine(10ms);
            green::sleep(1s);
        },
        {.idle_timeout = 500ms, .connection_timeout = 2000ms});
    server.start();
    auto c = green::create_connection("127.0.0.1", server.address().port(), 2s);
    c.set_timeout(3s);
    CHECK(c.recv(10).empty());
    CHECK(server.timed_out() == 0);
    server.stop();
}

// Bad construction and an address in use fail clearly.
TEST_CASE("server: bad input") {
    CHECK_THROWS_AS(green::StreamServer(green::Address::parse("127.0.0.1:0"), nullptr), std::invalid_argument);
    CHECK_THROWS_AS(green::StreamServer(green::Address::parse("127.0.0.1:0"), http("x"), {.workers = 0}),
                    std::invalid_argument);
    green::StreamServer a(green::Address::parse("127.0.0.1:0"), http("x"));
    a.start();
    green::StreamServer b(a.address(), http("x"));
    try {
        b.start();
        FAIL("bound twice");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == EADDRINUSE);
    }
}

// Out of descriptors, the accept loop backs off (using little CPU) and serves the
// waiting client as soon as descriptors come back (in a child with a low limit).
// Not under UBSan: its runtime (GCC 12) opens a pipe to validate vtable
// pointers, so with every descriptor taken it reports false errors.
TEST_CASE("server: EMFILE backs off and recovers") {
    if (GREEN_SANITIZED && !test::kThreadSanitizer)
        return test::skip("UBSan needs descriptors of its own (GCC 12's vptr checks)");
    const auto r = test::run({HELPER_PATH, "emfile"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("served after recovery") != std::string::npos);
    CHECK(r.err.find("backing off") != std::string::npos);
    INFO(r.out);
}

// workers = N pre-forks N processes sharing the port with SO_REUSEPORT; requests
// reach more than one of them, and stop() ends them all.
TEST_CASE("server: pre-forked workers") {
    green::StreamServer server(
        green::Address::parse("127.0.0.1:0"),
        [](green::Socket c, green::Address) {
            std::string req = c.recv(4096);
            const std::string body = std::to_string(::getpid());
            c.sendall("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        },
        green::ServerOptions{.workers = 3});
    auto serving = green::spawn([&] { server.serve_forever(); });
    green::sleep(100ms);
    REQUIRE(server.worker_pids().size() == 3);
    std::set<std::string> pids;
    for (int i = 0; i < 60 && pids.size() < 2; ++i) {
        auto r = run_client({"/usr/bin/curl", "-s", "--max-time", "5", url(server)});
        if (r.exit_code == 0) pids.insert(r.out);
    }
    CHECK(pids.size() >= 2);
    const auto workers = server.worker_pids();
    server.stop();
    serving.join();
    for (pid_t p : workers) CHECK(::kill(p, 0) == -1);  // gone and reaped
    CHECK(server.worker_pids().empty());
}
