// A minimal HTTP/1.1 keep-alive server answering "Hello, World!" to every
// request; the benchmarks measure it against a hand-written epoll server.
// Usage: http_hello [PORT] [WORKERS] [CERT KEY]   (default 8080, 1; port 0 picks
// a free one; with a PEM certificate chain and its key it serves HTTPS)
// SIGUSR1 prints green::dump() (every greenlet and what it waits on) on stderr.
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

// Answers every complete request (ending in a blank line) on one connection:
// read(buf, len) returns 0 when the client is gone, write(text) sends it all.
template <class Read, class Write>
void answer(Read read, Write write) {
    char buf[4096];
    std::size_t have = 0;
    std::string out;
    for (;;) {
        const std::size_t n = read(buf + have, sizeof buf - have);
        if (n == 0) return;  // the client closed
        have += n;
        std::string_view data(buf, have);
        std::size_t consumed = 0;
        for (std::size_t end; (end = data.find("\r\n\r\n", consumed)) != std::string_view::npos; consumed = end + 4)
            out += kResponse;
        if (consumed == 0 && have == sizeof buf) return;  // a header larger than the buffer: give up
        std::memmove(buf, buf + consumed, have - consumed);
        have -= consumed;
        if (!out.empty()) {
            write(out);
            out.clear();
        }
    }
}

void serve(green::Socket conn, green::Address) {
    answer([&](char* p, std::size_t n) { return conn.recv_into(p, n); }, [&](std::string_view s) { conn.sendall(s); });
}

void serve_tls(green::tls::Stream conn, green::Address) {
    try {
        answer([&](char* p, std::size_t n) { return conn.read_some(p, n); }, [&](std::string_view s) { conn.write(s); });
    } catch (const green::tls::Error&) {
        // Most HTTP clients hang up without close_notify: for HTTP, with its
        // own lengths, that is just the end of the connection.
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 8080;
    const unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1;
    if (port < 0 || port > 65535 || workers == 0 || argc == 4 || argc > 5) {
        std::fprintf(stderr, "usage: http_hello [PORT] [WORKERS] [CERT KEY]\n");
        return 2;
    }
    const auto at = green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port));
    const green::ServerOptions options{.workers = workers, .idle_timeout = std::chrono::minutes(1)};
    std::unique_ptr<green::StreamServer> server;
    if (argc == 5) {
        auto tls = green::tls::Context::server(argv[3], argv[4]);
        tls.min_version(green::tls::Version::tls1_3);
        server = std::make_unique<green::StreamServer>(at, tls, serve_tls, options);
    } else {
        server = std::make_unique<green::StreamServer>(at, serve, options);
    }
    auto on_term = green::signal_handler(SIGTERM, [&] { server->stop(std::chrono::seconds(1)); });
    auto on_int = green::signal_handler(SIGINT, [&] { server->stop(std::chrono::seconds(1)); });
    auto on_usr1 = green::signal_handler(SIGUSR1, [] { std::fprintf(stderr, "%s", green::dump().c_str()); });
    if (workers == 1) server->start();
    std::fprintf(stderr, "http_hello: listening on %s\n", workers == 1 ? server->address().to_string().c_str() : "(workers)");
    server->serve_forever();
}
