// examples/chaos_proxy in front of green's own example servers (echo_server,
// http_hello) and clients (fetch, crawler): each fault reaches the client as
// the error or timeout it should, and the servers behind it keep serving with
// as many descriptors and greenlets as before.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

std::string example(const char* name) { return std::string(EXAMPLES_DIR) + "/" + name; }

// Descriptors open in process `pid` now.
int fds_of(pid_t pid) {
    DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!d) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
}

// A child whose stdout and stderr come back through pipes.
struct Child {
    green::Popen p;
    std::string out, err;

    explicit Child(std::vector<std::string> argv)
        : p(std::move(argv), {.out = green::Stdio::pipe, .err = green::Stdio::pipe}) {}
    ~Child() {
        if (p.poll()) return;
        p.kill();
        p.wait();
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // Reads stdout until it holds `want`.
    void wait_stdout(const std::string& want) {
        green::Timeout t(5s);
        while (out.find(want) == std::string::npos) {
            const std::string part = p.read_stdout();
            REQUIRE_MESSAGE(!part.empty(), "no '" << want << "' in: " << out << err);
            out += part;
        }
    }

    // Its greenlets, from the summary line ("N greenlets, M ready") of the
    // green::dump() it prints on stderr on SIGUSR1.
    int greenlets() {
        const std::size_t from = err.size();
        p.send_signal(SIGUSR1);
        green::Timeout t(5s);
        for (;;) {
            const std::size_t at = err.find(" greenlets, ", from);
            if (at != std::string::npos && err.find('\n', at) != std::string::npos) {
                const std::size_t line = err.rfind('\n', at);
                return std::atoi(err.c_str() + (line == std::string::npos ? 0 : line + 1));
            }
            const std::string part = p.read_stderr();
            if (part.empty()) return -1;
            err += part;
        }
    }

    // Stops it with SIGTERM and returns its exit code; its output is in out/err.
    int stop() {
        p.terminate();
        const green::Output o = p.communicate({}, 5s);
        out += o.out;
        err += o.err;
        return p.wait();
    }
};

// A server example and what it had open once it was listening.
struct Server {
    int port = test::free_port();
    Child child;
    int fds = 0;
    int greenlets = 0;

    explicit Server(const char* name) : child({example(name), std::to_string(port)}) {
        test::wait_for_port(port);
        // The handler of wait_for_port's connection ends a moment after it:
        // what it has open once two samples 100 ms apart agree.
        for (int i = 0; i < 50; ++i) {
            const int f = fds_of(child.p.pid()), g = child.greenlets();
            if (f == fds && g == greenlets) break;
            fds = f;
            greenlets = g;
            green::sleep(100ms);
        }
    }

    // Whether its descriptors and greenlets come back to what they were at the
    // start (the handlers of closed connections end a moment after the close).
    bool back_to_start() {
        for (int i = 0; i < 100; ++i) {
            if (fds_of(child.p.pid()) == fds && child.greenlets() == greenlets) return true;
            green::sleep(50ms);
        }
        MESSAGE("fds " << fds_of(child.p.pid()) << " (at the start " << fds << "), greenlets " << child.greenlets()
                       << " (at the start " << greenlets << ")");
        return false;
    }
};

// chaos_proxy on a free port in front of 127.0.0.1:upstream.
struct Proxy {
    int port = test::free_port();
    Child child;
    int fds = 0;
    int greenlets = 0;

    Proxy(int upstream, const std::vector<std::string>& faults, const std::string& seed = "7")
        : child(argv(port, upstream, faults, seed)) {
        child.wait_stdout("listening on");  // not wait_for_port: that would be a connection, and draw a fault
        fds = fds_of(child.p.pid());
        greenlets = child.greenlets();
    }

    static std::vector<std::string> argv(int port, int upstream, const std::vector<std::string>& faults,
                                         const std::string& seed) {
        std::vector<std::string> a = {example("chaos_proxy"), "--seed", seed, std::to_string(port), "127.0.0.1",
                                      std::to_string(upstream)};
        a.insert(a.end(), faults.begin(), faults.end());
        return a;
    }

    bool back_to_start() {
        for (int i = 0; i < 100; ++i) {
            if (fds_of(child.p.pid()) == fds && child.greenlets() == greenlets) return true;
            green::sleep(50ms);
        }
        return false;
    }

    // Stops it; returns its statistics (stdout after the first line).
    std::string stop() {
        CHECK(child.stop() == 0);
        return child.out.substr(child.out.find('\n') + 1);
    }
};

// The number before `label` in the proxy's statistics ("... 12 writes ..."), or -1.
long stat(const std::string& stats, const std::string& label) {
    const std::size_t at = stats.find(" " + label);
    if (at == std::string::npos || at == 0) return -1;
    const std::size_t start = stats.find_last_of(" (", at - 1);
    return std::atol(stats.c_str() + (start == std::string::npos ? 0 : start + 1));
}

// How many connections the proxy's statistics say got `fault` ("(pass 3, reset 2)").
long picked(const std::string& stats, const std::string& fault) {
    for (const char* before : {"(", ", "}) {
        const std::size_t at = stats.find(before + fault + " ");
        if (at != std::string::npos && at < stats.find('\n')) return std::atol(stats.c_str() + at + std::strlen(before) + fault.size() + 1);
    }
    return 0;
}

// What one echo round trip through 127.0.0.1:port brought back: sends `message`,
// reads until as many bytes came back or the connection ended. Throws what the
// socket throws (std::system_error, or TimeoutError after `timeout`).
std::string echo(int port, const std::string& message, std::chrono::milliseconds timeout = 5000ms) {
    green::Timeout t(timeout);
    green::Socket s = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port));
    s.sendall(message);
    std::string got;
    while (got.size() < message.size()) {
        std::string part = s.recv(65536);
        if (part.empty()) break;
        got += part;
    }
    return got;
}

// The errno of the std::system_error that `f` throws, 0 if it throws none.
template <class F>
int error_of(F&& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.code().value();
    }
    return 0;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

}  // namespace

// pass and fragment=N forward every byte unchanged; fragment=7 makes at least
// one write per 7 bytes each way; fetch gets http_hello's page through it.
TEST_CASE("chaos_proxy: pass and fragment forward every byte") {
    Server echo_server("echo_server");
    Proxy fragments(echo_server.port, {"fragment=7"});
    const std::string message = pattern(10000);
    CHECK(echo(fragments.port, message) == message);
    const std::string stats = fragments.stop();
    CHECK(test::contains(stats, "1 connections (fragment 1), 0 open"));
    CHECK(stat(stats, "bytes to upstream") == 10000);
    CHECK(stat(stats, "bytes to clients") == 10000);
    CHECK(stat(stats, "writes") >= 2 * (10000 / 7));

    Server http("http_hello");
    Proxy pass(http.port, {});
    const std::string url = "http://127.0.0.1:" + std::to_string(pass.port) + "/page";
    const auto r = test::run({example("fetch"), url, url});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(test::contains(r.out, "13 bytes received from " + url));
    CHECK(test::contains(pass.stop(), "2 connections (pass 2), 0 open"));
    CHECK(echo_server.back_to_start());
    CHECK(http.back_to_start());
}

// reset (right after accepting) and reset-after=N (in mid-stream) reach the
// client as ECONNRESET (or EPIPE when its write meets the reset first), with at
// most N bytes through; fetch reports the reset and fails; the echo server keeps
// serving, and neither it nor the proxy keeps a descriptor or greenlet of the 40
// broken connections.
TEST_CASE("chaos_proxy: resets before and in mid-stream") {
    Server server("echo_server");
    Proxy before(server.port, {"reset"});
    Proxy midway(server.port, {"reset-after=100"});
    const std::string message = pattern(1000);
    for (int i = 0; i < 20; ++i) {
        const int e = error_of([&] { echo(before.port, message); });
        CHECK_MESSAGE((e == ECONNRESET || e == EPIPE), "errno " << e);
        std::string got;
        const int e2 = error_of([&] {
            green::Timeout t(5s);
            green::Socket s = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(midway.port));
            s.sendall(message);
            for (std::string part; !(part = s.recv(65536)).empty();) got += part;
        });
        CHECK_MESSAGE((e2 == ECONNRESET || e2 == EPIPE), "errno " << e2);
        CHECK(got.size() <= 100);
        CHECK(got == message.substr(0, got.size()));
    }
    CHECK(echo(server.port, "still serving") == "still serving");
    CHECK(server.back_to_start());
    CHECK(before.back_to_start());
    CHECK(midway.back_to_start());
    CHECK(test::contains(before.stop(), "20 connections (reset 20), 0 open"));
    const std::string stats = midway.stop();
    CHECK(test::contains(stats, "20 connections (reset-after 20), 0 open"));
    CHECK(stat(stats, "bytes to upstream") + stat(stats, "bytes to clients") <= 20 * 100);

    // fetch through a reset after the request (55 bytes) and 15 of the answer.
    Server http("http_hello");
    Proxy cut(http.port, {"reset-after=70"});
    const std::string url = "http://127.0.0.1:" + std::to_string(cut.port) + "/1";
    const auto r = test::run({example("fetch"), url});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(test::contains(r.out, url + " failed: green::Socket::recv: Connection reset by peer"), r.out);
    CHECK(http.back_to_start());
}

// delay=MS holds each chunk MS ms each way: a client's 150 ms Timeout fires,
// one of 5 s gets the echo after two delays; blackhole never answers, so the
// client's Timeout fires, and never connects upstream. Nothing is left open.
TEST_CASE("chaos_proxy: delay and blackhole make the client's Timeout fire") {
    Server server("echo_server");
    Proxy slow(server.port, {"delay=400"});
    test::Stopwatch watch;
    CHECK_THROWS_AS(echo(slow.port, "hello", 150ms), green::TimeoutError);
    CHECK(watch.seconds() < 5);
    watch = {};
    CHECK(echo(slow.port, "hello", 5000ms) == "hello");
    CHECK(watch.seconds() >= 0.75);

    // The slow proxy's upstream connection may still be closing: the count
    // that blackhole must leave alone is the settled one.
    REQUIRE(server.back_to_start());
    Proxy hole(server.port, {"blackhole"});
    {
        green::Timeout t(300ms);
        green::Socket s = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(hole.port));
        s.sendall("anyone there?");
        green::sleep(100ms);  // time it would have had to connect upstream
        CHECK(fds_of(server.child.p.pid()) == server.fds);  // blackhole connects nothing upstream
        CHECK_THROWS_AS(s.recv(100), green::TimeoutError);
    }
    CHECK(server.back_to_start());
    CHECK(slow.back_to_start());
    CHECK(hole.back_to_start());
    CHECK(test::contains(slow.stop(), "2 connections (delay 2), 0 open"));
    CHECK(test::contains(hole.stop(), "1 connections (blackhole 1), 0 open"));
}

// half-close: the client reads end-of-file at once and no answer, while what it
// sent still reaches the server; fetch gets an empty page.
TEST_CASE("chaos_proxy: half-close gives the client end-of-file") {
    Server server("echo_server");
    Proxy half(server.port, {"half-close"});
    CHECK(echo(half.port, "ping") == "");
    Server http("http_hello");
    Proxy half_http(http.port, {"half-close"});
    const std::string url = "http://127.0.0.1:" + std::to_string(half_http.port) + "/";
    const auto r = test::run({example("fetch"), url});
    CHECK(test::contains(r.out, "0 bytes received from " + url));
    CHECK(server.back_to_start());
    CHECK(http.back_to_start());
    const std::string stats = half.stop();
    CHECK(stat(stats, "bytes to upstream") == 4);
    CHECK(stat(stats, "bytes to clients") == 0);
    CHECK(half_http.stop().find("1 connections (half-close 1), 0 open") != std::string::npos);
}

// bandwidth=4000: 2000 bytes take about half a second each way (at least 0.4 s
// for the round trip, the two directions overlapping) and arrive intact.
TEST_CASE("chaos_proxy: bandwidth limits the rate") {
    Server server("echo_server");
    Proxy narrow(server.port, {"bandwidth=4000"});
    const std::string message = pattern(2000);
    test::Stopwatch watch;
    CHECK(echo(narrow.port, message) == message);
    CHECK(watch.seconds() >= 0.4);
    CHECK(server.back_to_start());
    CHECK(narrow.back_to_start());
}

// A seeded mix over 100 echo connections: each connection's outcome, as the
// client saw it, is the one the proxy says it picked (reset, reset-after and
// half-close fail a 100-byte echo; pass, fragment and delay do not); the counts
// are plausible for the probabilities; the same seed picks the same faults.
TEST_CASE("chaos_proxy: a seeded mix of faults") {
    Server server("echo_server");
    const std::vector<std::string> mix = {"reset@0.2", "reset-after=40@0.1", "half-close@0.1", "fragment=5@0.2",
                                          "delay=5@0.2"};
    std::string stats[2];
    int failed[2] = {0, 0};
    for (int run = 0; run < 2; ++run) {
        Proxy proxy(server.port, mix, "12345");
        const std::string message = pattern(100);
        for (int i = 0; i < 100; ++i) {
            try {
                failed[run] += echo(proxy.port, message) != message;
            } catch (const std::system_error&) {
                ++failed[run];
            }
        }
        CHECK(proxy.back_to_start());
        stats[run] = proxy.stop();
    }
    auto first_line = [](const std::string& text) { return text.substr(0, text.find('\n')); };
    CHECK(first_line(stats[0]) == first_line(stats[1]));  // the picks; byte and write counts may differ
    CHECK(failed[0] == failed[1]);
    const char* faults[] = {"pass", "reset", "reset-after", "half-close", "fragment", "delay"};
    const double p[] = {0.2, 0.2, 0.1, 0.1, 0.2, 0.2};
    long n[6], total = 0;
    for (int k = 0; k < 6; ++k) total += n[k] = picked(stats[0], faults[k]);
    CHECK_MESSAGE(total == 100, stats[0]);
    CHECK_MESSAGE(failed[0] == n[1] + n[2] + n[3], stats[0]);
    // Binomial(100, p): mean 100p, standard deviation under 4.1; within 4 of them.
    for (int k = 0; k < 6; ++k) CHECK_MESSAGE(std::abs(static_cast<double>(n[k]) - 100 * p[k]) <= 16.5, faults[k]);
    CHECK(server.back_to_start());

    // Another seed picks otherwise.
    Proxy other(server.port, mix, "54321");
    for (int i = 0; i < 100; ++i) error_of([&] { echo(other.port, "x"); });
    CHECK(first_line(other.stop()) != first_line(stats[0]));
}

// crawler through a proxy that fragments and delays every connection crawls the
// whole site; through one that resets a third of them it reports each failure
// and exits 1 (no crash), and the site then still serves everything.
TEST_CASE("chaos_proxy: crawler through faults") {
    test::LinkedSite site;
    const int port = site.port();
    Proxy rough(port, {"fragment=16@0.5", "delay=10@0.5"});
    auto r = test::run({example("crawler"), "http://127.0.0.1:" + std::to_string(rough.port) + "/p1.html", "3"});
    CHECK_MESSAGE(test::contains(r.out, "crawled 30 pages, 0 failed"), r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(rough.back_to_start());
    CHECK(stat(rough.stop(), "connections") == 30);

    Proxy flaky(port, {"reset@0.34"}, "3");
    r = test::run({example("crawler"), "http://127.0.0.1:" + std::to_string(flaky.port) + "/p1.html", "3"});
    CHECK_MESSAGE(r.exit_code == 1, r.out << r.err);
    CHECK(r.signal == 0);
    CHECK((test::contains(r.err, "Connection reset by peer") || test::contains(r.err, "Broken pipe")));
    const long resets = picked(flaky.stop(), "reset");
    CHECK(resets >= 1);
    CHECK(test::contains(r.out, " failed\n"));
    Proxy clean(port, {});
    r = test::run({example("crawler"), "http://127.0.0.1:" + std::to_string(clean.port) + "/p1.html", "3"});
    CHECK(test::contains(r.out, "crawled 30 pages, 0 failed"));
}
