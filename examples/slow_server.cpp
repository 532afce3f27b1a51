// An HTTP server whose pages take their time, like a slow backend: GET
// /delay/MS/anything answers after MS milliseconds (at most 10000), any other
// path at once. Each connection is a greenlet that sleeps through its delay, so
// a hundred slow requests wait together on one OS thread. One request per
// connection. tools/demo fetches from it.
// Usage: slow_server [PORT]   (default 8080; 0 picks a free one; the address is
// printed on stdout as "slow_server: listening on 127.0.0.1:PORT")
#include <green/green.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

// The delay a request path asks for: /delay/MS[/...]; 0 for any other path.
std::chrono::milliseconds delay_of(std::string_view path) {
    constexpr std::string_view prefix = "/delay/";
    if (!path.starts_with(prefix)) return 0ms;
    path.remove_prefix(prefix.size());
    unsigned ms = 0;
    const auto [end, error] = std::from_chars(path.data(), path.data() + path.size(), ms);
    if (error != std::errc() || (end != path.data() + path.size() && *end != '/')) return 0ms;
    return std::chrono::milliseconds(ms > 10000 ? 10000 : ms);
}

void serve(green::Socket conn, green::Address) {
    green::Timeout idle(10s);  // a client that never finishes its request is dropped
    std::string request;
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
        std::string part = conn.recv(4096);
        if (part.empty()) return;
        request += part;
    }
    idle.cancel();
    // "GET /path HTTP/1.1": the path is the second word of the first line.
    const std::size_t start = request.find(' ') + 1;
    const std::string path = request.substr(start, request.find(' ', start) - start);
    const auto delay = delay_of(path);
    green::sleep(delay);  // other connections are served meanwhile
    const std::string body = "page " + path + ", after " + std::to_string(delay.count()) + " ms\n";
    conn.sendall("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + body);
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 8080;
    if (argc > 2 || port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: slow_server [PORT]\n");
        return 2;
    }
    green::StreamServer server(green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)), serve,
                               green::ServerOptions{.idle_timeout = std::chrono::minutes(1)});
    auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(1s); });
    auto on_int = green::signal_handler(SIGINT, [&] { server.stop(1s); });
    server.start();
    std::printf("slow_server: listening on %s\n", server.address().to_string().c_str());
    std::fflush(stdout);
    server.serve_forever();
}
