// A fault-injecting TCP proxy (after Mozilla's Vaurien): it listens on
// 127.0.0.1:PORT, forwards each connection to UPSTREAM_HOST:UPSTREAM_PORT and
// injects one fault into it, chosen per connection:
//
//   pass           forward untouched
//   delay=MS       wait MS milliseconds before forwarding each chunk, both ways
//   reset          reset the client's connection (RST) as soon as it is accepted
//   reset-after=N  forward N bytes (both ways together), then reset both sides
//   half-close     forward the client's bytes upstream, but end the way back at
//                  once: the client reads end-of-file and never an answer
//   blackhole      read and drop what the client sends; never answer or close
//   fragment=N     forward in writes of at most N bytes (TCP_NODELAY)
//   bandwidth=BPS  at most BPS bytes per second each way
//
// Usage: chaos_proxy [--seed N] [--idle S] PORT UPSTREAM_HOST UPSTREAM_PORT [FAULT[@P]]...
//
// FAULT@P picks that fault with probability P (a seeded generator: the same
// --seed gives the n-th connection the same fault), the other connections pass;
// a single FAULT without @P applies to every connection. A connection whose
// sockets see no byte for --idle seconds (default 60) is closed. SIGUSR1 prints
// the statistics and green::dump()'s summary on stderr; SIGINT or SIGTERM stops
// the proxy, which prints its statistics on stdout and exits.
#include <green/green.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

enum class Kind { pass, delay, reset, reset_after, half_close, blackhole, fragment, bandwidth };
constexpr std::array<const char*, 8> kNames = {"pass",      "delay",     "reset",    "reset-after",
                                               "half-close", "blackhole", "fragment", "bandwidth"};
constexpr std::array<bool, 8> kTakesValue = {false, true, false, true, false, false, true, true};

struct Fault {
    Kind kind = Kind::pass;
    long value = 0;            // MS, N or BPS
    double probability = 1.0;  // of being picked for a connection
};

// "name[=value][@p]"; throws std::invalid_argument.
Fault parse_fault(const std::string& spec, bool& has_probability) {
    std::string text = spec;
    Fault f;
    has_probability = false;
    if (const auto at = text.find('@'); at != std::string::npos) {
        char* end = nullptr;
        f.probability = std::strtod(text.c_str() + at + 1, &end);
        if (end == text.c_str() + at + 1 || *end || !(f.probability >= 0 && f.probability <= 1))
            throw std::invalid_argument("bad probability in '" + spec + "' (0 to 1)");
        has_probability = true;
        text.resize(at);
    }
    std::string value;
    if (const auto eq = text.find('='); eq != std::string::npos) {
        value = text.substr(eq + 1);
        text.resize(eq);
    }
    for (std::size_t k = 0; k < kNames.size(); ++k) {
        if (text != kNames[k]) continue;
        f.kind = static_cast<Kind>(k);
        if (kTakesValue[k] != !value.empty()) throw std::invalid_argument("'" + text + (kTakesValue[k] ? "' takes =VALUE" : "' takes no value"));
        if (!value.empty()) {
            char* end = nullptr;
            f.value = std::strtol(value.c_str(), &end, 10);
            if (*end || f.value < (f.kind == Kind::delay || f.kind == Kind::reset_after ? 0 : 1) || f.value > 1'000'000'000)
                throw std::invalid_argument("bad value in '" + spec + "'");
        }
        return f;
    }
    throw std::invalid_argument("unknown fault '" + text + "'");
}

struct Stats {
    std::array<std::uint64_t, 8> picked{};  // connections per fault
    std::uint64_t open = 0;                 // connections being handled now
    std::uint64_t to_upstream = 0;          // bytes forwarded client -> upstream
    std::uint64_t to_client = 0;            // bytes forwarded upstream -> client
    std::uint64_t writes = 0;               // send calls made while forwarding
    std::uint64_t upstream_failed = 0;      // upstream connections that could not be made
    std::uint64_t broken = 0;               // connections ended by a peer's error or the idle timeout

    std::string format() const {
        std::uint64_t total = 0;
        std::string by_fault;
        for (std::size_t k = 0; k < picked.size(); ++k) {
            total += picked[k];
            if (picked[k]) by_fault += std::string(by_fault.empty() ? "" : ", ") + kNames[k] + " " + std::to_string(picked[k]);
        }
        char line[512];
        std::snprintf(line, sizeof line,
                      "chaos_proxy: %llu connections (%s), %llu open\n"
                      "chaos_proxy: %llu bytes to upstream, %llu bytes to clients, %llu writes; "
                      "%llu upstream connections failed, %llu connections broken\n",
                      static_cast<unsigned long long>(total), by_fault.empty() ? "none" : by_fault.c_str(),
                      static_cast<unsigned long long>(open), static_cast<unsigned long long>(to_upstream),
                      static_cast<unsigned long long>(to_client), static_cast<unsigned long long>(writes),
                      static_cast<unsigned long long>(upstream_failed), static_cast<unsigned long long>(broken));
        return line;
    }
};

struct Config {
    std::string upstream_host;
    std::uint16_t upstream_port = 0;
    std::vector<Fault> faults;
    double idle = 60;
};

Config config;
Stats stats;
std::mt19937_64 rng;

// The fault for the next connection: one draw of the generator per connection.
Fault pick() {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
    double sum = 0;
    for (const Fault& f : config.faults)
        if (u < (sum += f.probability)) return f;
    return Fault{};
}

// Closes `s` with a RST instead of a FIN (SO_LINGER with a zero timeout).
void reset(green::Socket& s) {
    if (!s.is_open()) return;
    const linger abort{1, 0};
    ::setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    s.close();
}

void shutdown_write(green::Socket& s) {
    try {
        if (s.is_open()) s.shutdown(SHUT_WR);
    } catch (const std::system_error&) {  // the peer is already gone
    }
}

// One proxied connection: its two sockets and what its fault has used up.
struct Link {
    green::Socket client;
    green::Socket upstream;
    Fault fault;
    long budget = 0;  // reset-after: bytes still to forward
    bool failed = false;

    // Ends both sides at once; a greenlet waiting on either socket wakes with EBADF.
    void abort() {
        failed = true;
        reset(client);
        reset(upstream);
    }
};

// Forwards from -> to until end of stream, then passes the end on (a FIN).
// Throws std::system_error when either socket fails (or was aborted).
void pump(Link& link, green::Socket& from, green::Socket& to, std::uint64_t& counter) {
    const Fault& f = link.fault;
    std::vector<char> buf(16384);
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t sent = 0;  // for the bandwidth limit
    const std::size_t piece = f.kind == Kind::fragment ? static_cast<std::size_t>(f.value)
                              : f.kind == Kind::bandwidth ? std::max<std::size_t>(1, static_cast<std::size_t>(f.value) / 20)
                                                          : buf.size();
    for (;;) {
        std::size_t n = from.recv_into(buf.data(), buf.size());
        if (n == 0) break;
        if (f.kind == Kind::delay) green::sleep(std::chrono::milliseconds(f.value));
        bool last = false;
        if (f.kind == Kind::reset_after) {
            if (static_cast<long>(n) >= link.budget) {
                n = static_cast<std::size_t>(link.budget);
                last = true;
            }
            link.budget -= static_cast<long>(n);
        }
        for (std::size_t at = 0; at < n;) {
            const std::size_t len = std::min(piece, n - at);
            to.sendall(buf.data() + at, len);
            ++stats.writes;
            counter += len;
            at += len;
            sent += len;
            if (f.kind == Kind::bandwidth) {  // not ahead of BPS since the start
                const auto due = started + std::chrono::duration<double>(static_cast<double>(sent) / static_cast<double>(f.value));
                const auto now = std::chrono::steady_clock::now();
                if (due > now) green::sleep(due - now);
            }
        }
        if (last) {
            link.abort();
            return;
        }
    }
    shutdown_write(to);
}

// Reads and drops everything `from` sends until it closes.
void drain(green::Socket& from) {
    char buf[4096];
    while (from.recv_into(buf, sizeof buf) != 0) {
    }
}

void handle(green::Socket client, green::Address) {
    const Fault fault = pick();
    ++stats.picked[static_cast<std::size_t>(fault.kind)];
    ++stats.open;
    struct Open {
        ~Open() { --stats.open; }
    } open;
    Link link{std::move(client), {}, fault, fault.value, false};
    link.client.set_timeout(std::chrono::duration<double>(config.idle));
    try {
        if (fault.kind == Kind::reset) return reset(link.client);
        if (fault.kind == Kind::blackhole) return drain(link.client);
        try {
            link.upstream = green::create_connection(config.upstream_host, config.upstream_port, std::chrono::seconds(5));
        } catch (const std::exception&) {
            ++stats.upstream_failed;
            return reset(link.client);
        }
        link.upstream.set_timeout(std::chrono::duration<double>(config.idle));
        if (fault.kind == Kind::fragment) {
            link.client.set_option(IPPROTO_TCP, TCP_NODELAY, 1);
            link.upstream.set_option(IPPROTO_TCP, TCP_NODELAY, 1);
        }
        // Client to upstream in a greenlet of its own, the way back here.
        auto up = green::spawn([&link] {
            try {
                pump(link, link.client, link.upstream, stats.to_upstream);
            } catch (const std::system_error&) {
                link.abort();
            } catch (const green::TimeoutError&) {
                link.abort();
            }
        });
        struct Join {  // also when this greenlet is killed (the proxy stops)
            green::Greenlet<void>& g;
            ~Join() {
                if (!g.ready()) g.kill();
            }
        } join{up};
        try {
            if (fault.kind == Kind::half_close) {
                shutdown_write(link.client);
                drain(link.upstream);
            } else {
                pump(link, link.upstream, link.client, stats.to_client);
            }
        } catch (const std::system_error&) {
            link.abort();
        } catch (const green::TimeoutError&) {
            link.abort();
        }
        up.join();
        if (link.failed && fault.kind != Kind::reset_after) ++stats.broken;
    } catch (const std::system_error&) {  // the client reset or timed out before any forwarding
        ++stats.broken;
    } catch (const green::TimeoutError&) {
        ++stats.broken;
    }
}

[[noreturn]] void usage(const char* why) {
    if (why) std::fprintf(stderr, "chaos_proxy: %s\n", why);
    std::fprintf(stderr,
                 "usage: chaos_proxy [--seed N] [--idle S] PORT UPSTREAM_HOST UPSTREAM_PORT [FAULT[@P]]...\n"
                 "faults: pass, delay=MS, reset, reset-after=N, half-close, blackhole, fragment=N, bandwidth=BPS\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t seed = 1;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--seed" || a == "--idle") && i + 1 < argc) {
            char* end = nullptr;
            if (a == "--seed")
                seed = std::strtoull(argv[++i], &end, 10);
            else if (!((config.idle = std::strtod(argv[++i], &end)) > 0))
                usage("--idle takes a positive number of seconds");
            if (*end) usage(("bad number for " + a).c_str());
        } else {
            args.push_back(a);
        }
    }
    if (args.size() < 3) usage(nullptr);
    const int port = std::atoi(args[0].c_str());
    const int upstream_port = std::atoi(args[2].c_str());
    if (port < 0 || port > 65535 || upstream_port <= 0 || upstream_port > 65535) usage("bad port");
    config.upstream_host = args[1];
    config.upstream_port = static_cast<std::uint16_t>(upstream_port);
    try {
        double sum = 0;
        for (std::size_t i = 3; i < args.size(); ++i) {
            bool has = false;
            config.faults.push_back(parse_fault(args[i], has));
            if (!has && args.size() > 4) throw std::invalid_argument("with several faults, give each a probability: FAULT@P");
            sum += config.faults.back().probability;
        }
        if (sum > 1 + 1e-9) throw std::invalid_argument("the probabilities add up to more than 1");
    } catch (const std::invalid_argument& e) {
        usage(e.what());
    }
    rng.seed(seed);

    green::StreamServer server(green::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)), handle);
    auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(std::chrono::seconds(1)); });
    auto on_int = green::signal_handler(SIGINT, [&] { server.stop(std::chrono::seconds(1)); });
    auto on_usr1 = green::signal_handler(SIGUSR1, [] {
        const std::string d = green::dump();
        const auto summary = d.rfind('\n', d.size() - 2);
        std::fprintf(stderr, "%s%s", stats.format().c_str(), d.c_str() + (summary == std::string::npos ? 0 : summary + 1));
    });
    server.start();
    std::printf("chaos_proxy: listening on %s, forwarding to %s:%u\n", server.address().to_string().c_str(),
                config.upstream_host.c_str(), static_cast<unsigned>(config.upstream_port));
    std::fflush(stdout);
    server.serve_forever();
    std::printf("%s", stats.format().c_str());
    return 0;
}
