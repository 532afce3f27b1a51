// The load of tools/soak: CONNECTIONS greenlets, each for SECONDS opening a
// connection to 127.0.0.1:PORT (an echo server, usually behind chaos_proxy),
// doing ROUNDS echo round trips of SIZE bytes on it under a Timeout of
// TIMEOUT_MS for the whole session, closing it, and starting over. Whatever
// goes wrong ends only that session, counted by kind.
// Usage: soak_load PORT CONNECTIONS SECONDS [ROUNDS=10] [SIZE=64] [TIMEOUT_MS=2000] [EVERY=10]
// Prints every EVERY seconds and at the end a line
//   t=SECONDS sessions=N ok=N round_trips=N reset=N eof=N timeout=N refused=N other=N
// (reset: ECONNRESET or EPIPE; eof: the server side ended the session early;
// refused: ECONNREFUSED; ok: sessions with every round trip right). Exits 0.
#include <green/green.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Counts {
    unsigned long sessions = 0, ok = 0, round_trips = 0, reset = 0, eof = 0, timeout = 0, refused = 0, other = 0;
};

void print(const Counts& c, double t) {
    std::printf("t=%.0f sessions=%lu ok=%lu round_trips=%lu reset=%lu eof=%lu timeout=%lu refused=%lu other=%lu\n", t,
                c.sessions, c.ok, c.round_trips, c.reset, c.eof, c.timeout, c.refused, c.other);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: soak_load PORT CONNECTIONS SECONDS [ROUNDS] [SIZE] [TIMEOUT_MS] [EVERY]\n");
        return 2;
    }
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    const int connections = std::atoi(argv[2]);
    const double seconds = std::atof(argv[3]);
    const int rounds = argc > 4 ? std::atoi(argv[4]) : 10;
    const std::size_t size = argc > 5 ? static_cast<std::size_t>(std::atoi(argv[5])) : 64;
    const auto timeout = std::chrono::milliseconds(argc > 6 ? std::atoi(argv[6]) : 2000);
    const double every = argc > 7 ? std::atof(argv[7]) : 10;

    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    const std::string message(size, 'x');
    Counts counts;

    auto session = [&] {
        green::Timeout t(timeout);
        green::Socket s = green::create_connection("127.0.0.1", port);
        std::string got;
        for (int r = 0; r < rounds; ++r) {
            s.sendall(message);
            got.clear();
            while (got.size() < size) {
                std::string part = s.recv(size - got.size());
                if (part.empty()) return false;  // ended early
                got += part;
            }
            if (got != message) return false;
            ++counts.round_trips;
        }
        return true;
    };
    auto worker = [&] {
        while (std::chrono::steady_clock::now() < until) {
            ++counts.sessions;
            try {
                if (session())
                    ++counts.ok;
                else
                    ++counts.eof;
            } catch (const green::TimeoutError&) {
                ++counts.timeout;
            } catch (const std::system_error& e) {
                const int code = e.code().value();
                if (code == ECONNRESET || code == EPIPE)
                    ++counts.reset;
                else if (code == ECONNREFUSED)
                    ++counts.refused;
                else
                    ++counts.other;
                if (code == ECONNREFUSED) green::sleep(std::chrono::milliseconds(100));
            } catch (const std::exception&) {
                ++counts.other;
            }
        }
    };
    std::vector<green::Greenlet<void>> workers;
    for (int i = 0; i < connections; ++i) workers.push_back(green::spawn(worker));
    auto reporter = green::spawn([&] {
        for (;;) {
            green::sleep(std::chrono::duration<double>(every));
            print(counts, elapsed());
        }
    });
    green::joinall(workers);
    reporter.kill();
    print(counts, elapsed());
    return 0;
}
