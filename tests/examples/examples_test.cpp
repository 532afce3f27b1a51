// Runs every example program for real, against servers started on loopback.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

std::string example(const char* name) { return std::string(EXAMPLES_DIR) + "/" + name; }

// Reads from `s` until `want` has arrived (or the timeout throws).
std::string read_until(green::Socket& s, const std::string& want) {
    std::string got;
    green::Timeout t(5s);
    while (got.find(want) == std::string::npos) {
        std::string part = s.recv(4096);
        if (part.empty()) break;
        got += part;
    }
    return got;
}

}  // namespace

// hello: spawn, Queue and joinall print every worker and the sum.
TEST_CASE("examples: hello") {
    auto r = test::run({example("hello")});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("worker 5 finished") != std::string::npos);
    CHECK(r.out.find("sum of squares: 55") != std::string::npos);
}

// producer_consumer processes every item.
TEST_CASE("examples: producer_consumer") {
    auto r = test::run({example("producer_consumer"), "30", "3", "4"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("30 items processed by 4 consumers") != std::string::npos);
    CHECK(test::run({example("producer_consumer"), "1", "0"}).exit_code == 2);  // bad input: usage
}

// subprocess: five 0.3 s commands run at once, and sort's output comes back.
TEST_CASE("examples: subprocess") {
    auto r = test::run({example("subprocess")});
    CHECK(r.exit_code == 0);
    for (int i = 1; i <= 5; ++i) CHECK(test::contains(r.out, "job " + std::to_string(i) + "\n"));
    CHECK(test::contains(r.out, "sorted:\napple\nfig\npear\nexit status 0"));
}

// http_hello answers keep-alive and pipelined requests.
TEST_CASE("examples: http_hello") {
    const int port = test::free_port();
    test::Process server({example("http_hello"), std::to_string(port)});
    test::wait_for_port(port);
    auto c = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port), 2s);
    c.sendall("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string got = read_until(c, "Hello, World!HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!");
    CHECK(got.ends_with("Hello, World!HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"));
    auto curl = test::run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(port) + "/"});
    CHECK(curl.out == "Hello, World!");
}

// echo_server echoes what it reads.
TEST_CASE("examples: echo_server") {
    const int port = test::free_port();
    test::Process server({example("echo_server"), std::to_string(port)});
    test::wait_for_port(port);
    auto c = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port), 2s);
    c.sendall("echo me");
    CHECK(read_until(c, "echo me") == "echo me");
}

// chat_server broadcasts a line from one client to the others.
TEST_CASE("examples: chat_server") {
    const int port = test::free_port();
    test::Process server({example("chat_server"), std::to_string(port)});
    test::wait_for_port(port);
    auto alice = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port), 2s);
    auto bob = green::create_connection("127.0.0.1", static_cast<std::uint16_t>(port), 2s);
    CHECK(read_until(alice, "joined").find("joined") != std::string::npos);  // bob joined
    bob.sendall("hi all\n");
    CHECK(read_until(alice, "hi all\n").find(": hi all") != std::string::npos);
    bob.close();
    CHECK(read_until(alice, "left").find("left") != std::string::npos);
}

// fetch gets several URLs at once and reports the bytes of each.
TEST_CASE("examples: fetch") {
    const int port = test::free_port();
    test::Process server({example("http_hello"), std::to_string(port)});
    test::wait_for_port(port);
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    auto r = test::run({example("fetch"), base + "/1", base + "/2", "http://localhost:" + std::to_string(port) + "/3"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("13 bytes received from " + base + "/1") != std::string::npos);
    CHECK(r.out.find("13 bytes received from http://localhost:") != std::string::npos);
    auto bad = test::run({example("fetch"), "http://127.0.0.1:1/nothing"});
    CHECK(bad.exit_code == 1);  // connection refused: reported, not a crash
}

// fetch against a hostile server: a negative or overflowing Content-Length is
// refused, and a body without end stops at 64 MiB instead of filling memory.
TEST_CASE("examples: fetch refuses hostile responses") {
    green::StreamServer hostile(green::Address::parse("127.0.0.1:0"), [](green::Socket c, green::Address) {
        std::string request;
        while (request.find("\r\n\r\n") == std::string::npos) {
            std::string part = c.recv(4096);
            if (part.empty()) return;
            request += part;
        }
        const std::string path = request.substr(4, request.find(' ', 4) - 4);
        try {
            if (path == "/negative") {
                c.sendall("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello");
            } else if (path == "/overflow") {
                c.sendall("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhello");
            } else if (path == "/endless") {
                c.sendall("HTTP/1.1 200 OK\r\n\r\n");
                const std::string chunk(1 << 20, 'x');
                for (int i = 0; i < 200; ++i) c.sendall(chunk);  // 200 MiB, if nobody stops it
            } else {
                c.sendall("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more than asked");
            }
        } catch (const std::system_error&) {
            // the client hung up
        }
    });
    hostile.start();
    const std::string base = "http://" + hostile.address().to_string();
    auto r = green::run_in_thread([&] {
        return test::run({example("fetch"), base + "/negative", base + "/overflow", base + "/endless", base + "/ok"});
    });
    CHECK(r.exit_code == 1);
    CHECK(test::contains(r.out, "/negative failed: bad Content-Length: '-5'"));
    CHECK(test::contains(r.out, "/overflow failed: Content-Length 99999999999999999999999 is larger than"));
    CHECK(test::contains(r.out, "/endless failed: response body larger than 67108864 bytes"));
    CHECK(test::contains(r.out, "5 bytes received from " + base + "/ok"));
    hostile.stop();
}

// fetch prints each page as it arrives and, at the end, the total time next to
// the sum of the single fetches' times; slow_server answers /delay/MS/... after
// MS ms, other paths at once, and sleeps through the delays of ten requests
// together: ten 300 ms pages arrive in well under the 3 s of one after another.
TEST_CASE("examples: slow_server and fetch's progress") {
    const int port = test::free_port();
    test::Process server({example("slow_server"), std::to_string(port)});
    test::wait_for_port(port);
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    std::vector<std::string> argv = {example("fetch")};
    for (int i = 1; i <= 10; ++i) argv.push_back(base + "/delay/300/page/" + std::to_string(i));
    test::Stopwatch watch;
    const auto r = test::run(argv);
    const double took = watch.seconds();
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(took < 2.5);  // one after another: 3 s at least
    for (int i = 1; i <= 10; ++i) {
        const std::string body = "page /delay/300/page/" + std::to_string(i) + ", after 300 ms\n";
        CHECK(test::contains(r.out, " s  " + std::to_string(body.size()) + " bytes received from " + argv[i] + "\n"));
    }
    // "10 of 10 pages in T s; one after another they would take S s (the sum of their times)"
    const std::size_t summary = r.out.find("10 of 10 pages in ");
    REQUIRE_MESSAGE(summary != std::string::npos, r.out);
    double total = 0, sum = 0;
    REQUIRE(std::sscanf(r.out.c_str() + summary, "10 of 10 pages in %lf s; one after another they would take %lf s",
                        &total, &sum) == 2);
    CHECK(total >= 0.29);
    CHECK(total < 2.5);
    CHECK(sum >= 2.99);  // ten fetches of at least 0.3 s each
    CHECK(total < sum / 1.5);
    // No delay asked (or a malformed one): at once.
    const auto quick = test::run({"/usr/bin/curl", "-s", "--max-time", "5", base + "/delay/x/y", base + "/other"});
    CHECK(quick.out == "page /delay/x/y, after 0 ms\npage /other, after 0 ms\n");
    CHECK(test::run({example("slow_server"), "1", "2"}).exit_code == 2);  // usage
}

// crawler follows every link of a local site served by python3's http.server.
TEST_CASE("examples: crawler") {
    test::LinkedSite site;
    const int port = site.port();
    auto r = test::run({example("crawler"), "http://127.0.0.1:" + std::to_string(port) + "/p1.html", "3"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("crawled 30 pages, 0 failed") != std::string::npos);
}

namespace {

// A python3 HTTP server (one thread per request) that answers every GET after
// `delay_ms`, on `port`.
test::Process slow_http_server(int port, int delay_ms) {
    const std::string script =
        "import http.server, socketserver, sys, time\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        time.sleep(" + std::to_string(delay_ms) + " / 1000)\n"
        "        body = b'x' * 1000\n"
        "        self.send_response(200)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body)\n"
        "    def log_message(self, *args): pass\n"
        "class S(http.server.ThreadingHTTPServer):\n"
        "    request_queue_size = 512\n"
        "S(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";
    return test::Process({"/usr/bin/python3", "-c", script, std::to_string(port)});
}

// The environment for running a program of this build under greenrun: in an
// ASan build the sanitizer runtime goes before the shim in LD_PRELOAD.
std::vector<std::string> greenrun_env(std::vector<std::string> env = {}) {
    const std::string runtime = SANITIZER_RUNTIME;
    if (!runtime.empty()) {
        const std::string greenrun = GREENRUN_PATH;
        env.push_back("GREEN_PRELOAD=" + runtime + ":" + greenrun.substr(0, greenrun.rfind('/')) +
                      "/../shim/libgreen_preload.so");
    }
    return env;
}

}  // namespace

// curl_fetch (linked-in mode): 100 plain libcurl easy-API fetches of a page that
// takes 300 ms run at once: done in well under the 30 s they take in turn.
TEST_CASE("examples: curl_fetch") {
    const int port = test::free_port();
    test::Process server = slow_http_server(port, 300);
    test::wait_for_port(port);
    const auto start = std::chrono::steady_clock::now();
    auto r = test::run({example("curl_fetch"), "http://127.0.0.1:" + std::to_string(port) + "/page", "100"});
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(r.out.starts_with("100 fetches, 100000 bytes, 0 failed"), r.out << r.err);
    CHECK(took < 10.0);
    auto refused = test::run({example("curl_fetch"), "http://127.0.0.1:1/", "3"});
    CHECK(refused.exit_code == 1);  // each failure is reported, nothing crashes
    CHECK(refused.out.starts_with("3 fetches, 0 bytes, 3 failed"));
    CHECK(test::run({example("curl_fetch")}).exit_code == 2);  // usage
}

// The legacy C server and client (no green in them) answer the same plain and
// under greenrun, including with every call forced through the hub.
TEST_CASE("examples: legacy server and client under greenrun") {
    const int port = test::free_port();
    const std::string server = example("legacy/legacy_server");
    const std::string client = example("legacy/legacy_client");
    test::Process plain_server({server, std::to_string(port)});
    test::wait_for_port(port);
    std::vector<std::string> ask = {client, "localhost", std::to_string(port), "hello", "green world"};
    const auto plain = test::run(ask);
    CHECK(plain.exit_code == 0);
    CHECK(plain.out == "HELLO\nGREEN WORLD\n");
    std::vector<std::string> greenrun = {GREENRUN_PATH, "--"};
    greenrun.insert(greenrun.end(), ask.begin(), ask.end());
    const auto shimmed = test::run(greenrun, greenrun_env());
    CHECK(shimmed.exit_code == 0);
    CHECK(shimmed.out == plain.out);
    const auto always = test::run(greenrun, greenrun_env({"GREEN_SHIM_COOPERATE=always"}));
    CHECK(always.out == plain.out);
    // The server under greenrun too, forking a child per connection.
    const int port2 = test::free_port();
    test::Process green_server({GREENRUN_PATH, server, std::to_string(port2)}, greenrun_env({"GREEN_SHIM_COOPERATE=always"}));
    test::wait_for_port(port2);
    ask[2] = std::to_string(port2);
    CHECK(test::run(ask).out == plain.out);
    // Bad input: usage, and a refused connection.
    CHECK(test::run({client, "localhost"}).exit_code == 2);
    const auto refused = test::run({GREENRUN_PATH, client, "127.0.0.1", "1", "x"}, greenrun_env());
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("Connection refused") != std::string::npos);
}

namespace {

// Opens `n` connections to 127.0.0.1:port, each sending one line, and returns
// how many got it back upper-cased while all of them were open; `threads` gets
// the server's OS threads counted at that moment.
int upcase_on_connections(int port, int n, int server_pid, int& threads) {
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        fds.push_back(fd);
    }
    int answered = 0;
    for (int fd : fds) {
        REQUIRE(::write(fd, "line\n", 5) == 5);
        char got[8] = {};
        std::size_t have = 0;
        for (ssize_t r; have < 5 && (r = ::read(fd, got + have, 5 - have)) > 0;) have += static_cast<std::size_t>(r);
        answered += std::string(got, have) == "LINE\n";
    }
    threads = test::os_threads(server_pid);
    for (int fd : fds) ::close(fd);
    return answered;
}

}  // namespace

// The thread-per-connection legacy server answers 200 connections held open at
// once the same with and without greenrun --threads; with it, on a handful of
// OS threads instead of one per connection. Skipped in a sanitized build: the
// server is then instrumented, and AddressSanitizer's own pthread_create
// interceptor, first in every instrumented program, starts its threads.
TEST_CASE("examples: legacy thread-per-connection server under greenrun --threads") {
    if (GREEN_SANITIZED) return test::skip("the sanitizer's pthread_create interceptor starts an instrumented server's threads");
    const std::string server = example("legacy/legacy_thread_server");
    int plain_threads = 0, green_threads = 0;
    const int port = test::free_port();
    test::Process plain({server, std::to_string(port)});
    test::wait_for_port(port);
    CHECK(upcase_on_connections(port, 200, plain.pid(), plain_threads) == 200);
    const int port2 = test::free_port();
    test::Process green({GREENRUN_PATH, "--threads", server, std::to_string(port2)}, greenrun_env());
    test::wait_for_port(port2);
    CHECK(upcase_on_connections(port2, 200, green.pid(), green_threads) == 200);
    CHECK(plain_threads > 200);
    CHECK(green_threads <= 4);
    MESSAGE("OS threads with 200 connections open: " << plain_threads << " plain, " << green_threads << " green");
}
