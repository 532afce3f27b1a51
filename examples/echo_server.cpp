// An echo server: each connection gets a greenlet that sends back what it reads.
// Usage: echo_server [PORT]   (default 7000; 0 picks a free port)
// SIGUSR1 prints green::dump() (every greenlet and what it waits on) on stderr.
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 7000;
    if (port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: echo_server [PORT]\n");
        return 2;
    }
    green::StreamServer server(green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)),
                               [](green::Socket conn, green::Address) {
                                   char buf[4096];
                                   while (std::size_t n = conn.recv_into(buf, sizeof buf)) conn.sendall(buf, n);
                               },
                               // A client silent for a minute gives its slot back.
                               green::ServerOptions{.idle_timeout = std::chrono::minutes(1)});
    auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(); });
    auto on_int = green::signal_handler(SIGINT, [&] { server.stop(); });
    auto on_usr1 = green::signal_handler(SIGUSR1, [] { std::fprintf(stderr, "%s", green::dump().c_str()); });
    server.start();
    std::printf("echo_server: listening on %s\n", server.address().to_string().c_str());
    std::fflush(stdout);
    server.serve_forever();
}
