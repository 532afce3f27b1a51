// A line-based chat: every line a client sends goes to all the others. Each
// client has a Queue of outgoing lines drained by its own writer greenlet, so a
// slow client never holds the others up.
// Usage: chat_server [PORT]   (default 7001; 0 picks a free port)
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <string>

namespace {

struct Client {
    std::string name;
    green::Queue<std::string> outbox{100};  // a full outbox drops lines for that client
};

std::list<std::shared_ptr<Client>> clients;

void broadcast(const Client* from, const std::string& line) {
    for (auto& c : clients)
        if (c.get() != from) c->outbox.try_put(line);
}

void serve(green::Socket conn, green::Address peer) {
    auto me = std::make_shared<Client>();
    me->name = peer.to_string();
    clients.push_back(me);
    auto writer = green::spawn([&conn, me] {
        for (const std::string& line : me->outbox) conn.sendall(line);
    });
    broadcast(me.get(), "* " + me->name + " joined\n");
    std::string pending;
    try {
        while (true) {
            std::string data = conn.recv(4096);
            if (data.empty()) break;
            pending += data;
            for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
                broadcast(me.get(), me->name + ": " + pending.substr(0, nl + 1));
                pending.erase(0, nl + 1);
            }
        }
    } catch (const std::system_error&) {  // a reset connection ends like a closed one
    }
    clients.remove(me);
    me->outbox.close();
    writer.join();
    broadcast(nullptr, "* " + me->name + " left\n");
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 7001;
    if (port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: chat_server [PORT]\n");
        return 2;
    }
    // Chatters may sit quietly for a while, but not hold a connection forever.
    green::StreamServer server(green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)), serve,
                               green::ServerOptions{.idle_timeout = std::chrono::minutes(10)});
    auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(); });
    auto on_int = green::signal_handler(SIGINT, [&] { server.stop(); });
    server.start();
    std::printf("chat_server: listening on %s\n", server.address().to_string().c_str());
    std::fflush(stdout);
    server.serve_forever();
}
