// Runs every example program for real, against servers started on loopback.
#include <doctest/doctest.h>

#include <green/green.hpp>

#include <sys/stat.h>

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

// crawler follows every link of a local site served by python3's http.server.
TEST_CASE("examples: crawler") {
    const std::string root = test::temp_path("site");
    ::mkdir(root.c_str(), 0755);
    for (int i = 1; i <= 30; ++i) {
        std::ofstream page(root + "/p" + std::to_string(i) + ".html");
        page << "<html><body>page " << i;
        for (int j : {2 * i, 2 * i + 1})
            if (j <= 30) page << " <a href=\"/p" << j << ".html\">p" << j << "</a>";
        page << "</body></html>";
    }
    const int port = test::free_port();
    test::Process site({"/usr/bin/env", "python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                        "--directory", root});
    test::wait_for_port(port);
    auto r = test::run({example("crawler"), "http://127.0.0.1:" + std::to_string(port) + "/p1.html", "3"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("crawled 30 pages, 0 failed") != std::string::npos);
}
