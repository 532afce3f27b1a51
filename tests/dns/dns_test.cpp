#include <doctest/doctest.h>

#include <green/green.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

// The test zone every case below resolves against, on its own dnsmasq.
test::Dnsmasq& zone() {
    static test::Dnsmasq d({
        "--host-record=alpha.test.green,127.0.0.10,::1",
        "--host-record=v4only.test.green,127.0.0.11",
        "--host-record=v6only.test.green,::1",
        "--cname=alias.test.green,alpha.test.green",
        "--address=/many.test.green/127.0.0.12",
    });
    return d;
}

// Points green's resolver at the test zone and nothing else.
struct UseZone {
    UseZone() {
        green::dns::set_servers(zone().server());
        green::dns::set_timeout(1s);
        green::dns::set_tries(2);
    }
};

std::vector<std::string> hosts(const std::vector<green::dns::AddrInfo>& r) {
    std::vector<std::string> out;
    for (const auto& a : r) out.push_back(a.address.host());
    return out;
}

int eai_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const green::dns::Error& e) {
        return e.code();
    }
    return 0;
}

// A UDP socket that receives queries and never answers.
struct SilentServer {
    green::Socket socket{AF_INET, SOCK_DGRAM};
    SilentServer() { socket.bind(green::Address::parse("127.0.0.1:0")); }
    std::string address() const { return socket.local_address().to_string(); }
};

// A DNS server on loopback, UDP and TCP on one port, written with green: names
// starting "trunc" get a truncated answer (TC) and the TCP retry is closed at
// once; names starting "slow" are answered after 300 ms; others at once. Every
// answer is one A record, 127.0.0.21.
struct HostileServer {
    green::Socket udp{AF_INET, SOCK_DGRAM};
    green::Socket tcp{AF_INET, SOCK_STREAM};
    green::Group serving;

    HostileServer() {
        // The kernel picks a free UDP port; another test's connection may hold
        // the same TCP port meanwhile: then both are picked again.
        for (int attempt = 1;; ++attempt) {
            udp.bind(green::Address::parse("127.0.0.1:0"));
            tcp.set_option(SOL_SOCKET, SO_REUSEADDR, 1);
            try {
                tcp.bind(udp.local_address());
                break;
            } catch (const std::system_error& e) {
                if (e.code().value() != EADDRINUSE || attempt == 50) throw;
            }
            udp = green::Socket{AF_INET, SOCK_DGRAM};
            tcp = green::Socket{AF_INET, SOCK_STREAM};
        }
        tcp.listen(16);
        serving.spawn([this] {
            for (;;) tcp.accept().close();  // every TCP retry fails
        });
        serving.spawn([this] {
            for (;;) {
                std::string query(512, '\0');
                green::Address from;
                query.resize(udp.recvfrom(query.data(), query.size(), from));
                serving.spawn([this, query, from] { answer(query, from); });
            }
        });
    }
    ~HostileServer() { serving.kill(); }
    std::string address() const { return udp.local_address().to_string(); }

    void answer(const std::string& query, const green::Address& to) {
        if (query.size() < 17) return;
        const std::string first_label = query.substr(13, static_cast<unsigned char>(query[12]));
        const bool trunc = first_label.rfind("trunc", 0) == 0;
        if (first_label.rfind("slow", 0) == 0) green::sleep(300ms);
        const std::size_t question_end = query.find('\0', 12) + 5;  // the name's root label, type, class
        std::string reply = query.substr(0, question_end);
        reply[2] = static_cast<char>(0x80 | (trunc ? 0x02 : 0) | (query[2] & 0x01));  // QR, TC, RD
        reply[3] = static_cast<char>(0x80);                                           // RA, NOERROR
        reply[6] = 0;
        reply[7] = trunc ? 0 : 1;  // ANCOUNT
        reply[8] = reply[9] = reply[10] = reply[11] = 0;
        if (!trunc) reply += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x15", 16);
        udp.sendto(reply.data(), reply.size(), to);
    }
};

}  // namespace

// A and AAAA records come back for the family asked, and a CNAME gives the
// canonical name.
TEST_CASE("dns: A and AAAA lookups") {
    UseZone z;
    green::dns::Hints v4{.family = AF_INET, .socktype = SOCK_STREAM};
    CHECK(hosts(green::dns::getaddrinfo("alpha.test.green", "80", v4)) == std::vector<std::string>{"127.0.0.10"});
    green::dns::Hints v6{.family = AF_INET6, .socktype = SOCK_STREAM};
    CHECK(hosts(green::dns::getaddrinfo("alpha.test.green", "80", v6)) == std::vector<std::string>{"::1"});
    green::dns::Hints any{.socktype = SOCK_STREAM, .flags = AI_CANONNAME};
    auto both = green::dns::getaddrinfo("alias.test.green", "443", any);
    const auto names = hosts(both);
    CHECK(std::set<std::string>(names.begin(), names.end()) == std::set<std::string>{"127.0.0.10", "::1"});
    CHECK(both.front().canonname == "alpha.test.green");
    CHECK(both.front().address.port() == 443);
}

// Without a socket type, each address comes once per TCP, UDP and raw, as glibc
// does for a numeric service; a named service lists the protocols it exists for.
TEST_CASE("dns: socket types and services") {
    UseZone z;
    auto r = green::dns::getaddrinfo("v4only.test.green", "53");
    REQUIRE(r.size() == 3);
    CHECK(r[0].socktype == SOCK_STREAM);
    CHECK(r[1].socktype == SOCK_DGRAM);
    CHECK(r[2].socktype == SOCK_RAW);
    auto domain = green::dns::getaddrinfo("127.0.0.1", "domain");
    REQUIRE(domain.size() == 2);  // domain is a tcp and a udp service
    CHECK(domain[1].protocol == IPPROTO_UDP);
    CHECK(eai_of([] { green::dns::getaddrinfo("127.0.0.1", "53", {.socktype = SOCK_RAW}); }) == EAI_SERVICE);
    CHECK(eai_of([] { green::dns::getaddrinfo("127.0.0.1", "", {.socktype = SOCK_STREAM, .protocol = IPPROTO_UDP}); }) ==
          EAI_SOCKTYPE);
    CHECK(green::dns::getaddrinfo("127.0.0.1", "70000", {.socktype = SOCK_STREAM}).at(0).address.port() == 4464);
    auto named = green::dns::getaddrinfo("127.0.0.1", "http", {.socktype = SOCK_STREAM});
    CHECK(named.at(0).address.port() == 80);
    CHECK(eai_of([] { green::dns::getaddrinfo("127.0.0.1", "no-such-service"); }) == EAI_SERVICE);
    CHECK(eai_of([] { green::dns::getaddrinfo("127.0.0.1", "http", {.flags = AI_NUMERICSERV}); }) == EAI_NONAME);
}

// NXDOMAIN is EAI_NONAME; a name without the asked family is EAI_NODATA; both
// carry gai_strerror's text.
TEST_CASE("dns: NXDOMAIN and no data") {
    UseZone z;
    try {
        green::dns::getaddrinfo("missing.test.green", "80");
        FAIL("resolved");
    } catch (const green::dns::Error& e) {
        CHECK(e.code() == EAI_NONAME);
        CHECK(std::string(e.what()).find(gai_strerror(EAI_NONAME)) != std::string::npos);
        CHECK(std::string(e.what()).find("missing.test.green") != std::string::npos);
    }
    CHECK(eai_of([] { green::dns::getaddrinfo("v4only.test.green", "80", {.family = AF_INET6}); }) == EAI_NODATA);
}

// A server that never answers yields EAI_AGAIN within the configured time.
TEST_CASE("dns: silent server times out") {
    SilentServer silent;
    green::dns::set_servers(silent.address());
    green::dns::set_timeout(200ms);
    green::dns::set_tries(1);
    test::Stopwatch w;
    CHECK(eai_of([] { green::dns::getaddrinfo("alpha.test.green", "80"); }) == EAI_AGAIN);
    CHECK(w.seconds() >= 0.15);
    CHECK(w.seconds() < 3);
}

// The hosts file wins over DNS (nsswitch's "files dns").
TEST_CASE("dns: hosts file takes precedence") {
    UseZone z;
    const std::string path = test::temp_path("hosts");
    std::ofstream(path) << "# test hosts\n127.0.0.99   alpha.test.green  alpha-alias\n127.0.0.98 other\n";
    ::setenv("GREEN_HOSTS_FILE", path.c_str(), 1);
    auto r = green::dns::getaddrinfo("alpha.test.green", "80", {.family = AF_INET, .socktype = SOCK_STREAM});
    CHECK(hosts(r) == std::vector<std::string>{"127.0.0.99"});
    auto e = green::dns::gethostbyname("alpha-alias");
    CHECK(e.name == "alpha.test.green");
    CHECK(e.aliases == std::vector<std::string>{"alpha-alias"});
    CHECK(green::dns::getnameinfo(green::Address::parse("127.0.0.98:22")).host == "other");
    std::ofstream(path) << "127.0.0.1 localhost.test.green localhost\n";  // now the local domain is test.green
    CHECK(green::dns::getnameinfo(green::Address::parse("127.0.0.10:80"), NI_NOFQDN).host == "alpha");
    ::unsetenv("GREEN_HOSTS_FILE");
    CHECK(hosts(green::dns::getaddrinfo("alpha.test.green", "80", {.family = AF_INET, .socktype = SOCK_STREAM})) ==
          std::vector<std::string>{"127.0.0.10"});
}

// Only a regular file is read as the hosts file: a FIFO would block the thread
// (no Timeout could fire) and /dev/zero never ends. Both are ignored, and the
// lookup goes on to DNS at once.
TEST_CASE("dns: a hosts file that is not a regular file is ignored") {
    UseZone z;
    const std::string fifo = test::temp_path("hosts-fifo");
    ::unlink(fifo.c_str());
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Unblocks an open() of the FIFO after 3 s, so a reader stuck there ends.
    std::thread opener([&] {
        std::this_thread::sleep_for(3s);
        int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0) ::close(fd);
    });
    for (const std::string& path : {fifo, std::string("/dev/zero"), std::string("/dev/null")}) {
        CAPTURE(path);
        ::setenv("GREEN_HOSTS_FILE", path.c_str(), 1);
        test::Stopwatch w;
        CHECK(hosts(green::dns::getaddrinfo("alpha.test.green", "80", {.family = AF_INET, .socktype = SOCK_STREAM})) ==
              std::vector<std::string>{"127.0.0.10"});
        CHECK(w.seconds() < 2);
    }
    ::unsetenv("GREEN_HOSTS_FILE");
    opener.join();
    ::unlink(fifo.c_str());
}

// A NUL byte ends a line's text, as for glibc, which reads lines as C strings;
// a runaway file is read only up to 16 MiB (whole lines), not into gigabytes.
TEST_CASE("dns: hosts file with a NUL byte, and one past the size cap") {
    using namespace std::string_literals;
    UseZone z;
    const std::string path = test::temp_path("hosts-odd");
    {
        std::ofstream out(path, std::ios::binary);
        out << "127.0.0.55 early.test.green\0late.test.green\n"s;
        const std::string filler(1023, '#');
        for (int i = 0; i < 17 * 1024; ++i) out << filler << '\n';  // 17 MiB of comments
        out << "127.0.0.56 beyond.test.green\n";
    }
    ::setenv("GREEN_HOSTS_FILE", path.c_str(), 1);
    test::Stopwatch w;
    CHECK(hosts(green::dns::getaddrinfo("early.test.green", "80", {.family = AF_INET, .socktype = SOCK_STREAM})) ==
          std::vector<std::string>{"127.0.0.55"});
    CHECK(eai_of([] { green::dns::getaddrinfo("late.test.green", "80", {.family = AF_INET}); }) == EAI_NONAME);
    CHECK(eai_of([] { green::dns::getaddrinfo("beyond.test.green", "80", {.family = AF_INET}); }) == EAI_NONAME);
    CHECK(w.seconds() < 10);
    ::unsetenv("GREEN_HOSTS_FILE");
    ::unlink(path.c_str());
}

// One bad answer fails only its own lookup, as with glibc: a truncated answer
// whose TCP retry the server closes must not fail the other lookups in flight
// on the same thread (c-ares marks the server failed for all of them).
TEST_CASE("dns: a failed TCP retry fails only its own lookup") {
    HostileServer server;
    green::dns::set_servers(server.address());
    green::dns::set_timeout(2s);
    green::dns::set_tries(1);
    const green::dns::Hints v4{.family = AF_INET, .socktype = SOCK_STREAM};
    CHECK(hosts(green::dns::getaddrinfo("plain.test.green", "80", v4)) == std::vector<std::string>{"127.0.0.21"});
    std::vector<green::Greenlet<std::string>> innocent;
    for (int i = 0; i < 3; ++i)
        innocent.push_back(green::spawn([&v4, i] {
            return hosts(green::dns::getaddrinfo("slow" + std::to_string(i) + ".test.green", "80", v4)).at(0);
        }));
    green::sleep(50ms);  // all three asked and waiting
    CHECK(eai_of([&] { green::dns::getaddrinfo("trunc.test.green", "80", v4); }) != 0);
    for (auto& g : innocent) CHECK(g.get() == "127.0.0.21");
}

// Hundreds of lookups in flight share one channel: they finish together and use
// a handful of descriptors, not one each.
TEST_CASE("dns: hundreds of concurrent lookups share a channel") {
    UseZone z;
    const int before = test::open_fds();
    int peak = 0;
    std::vector<green::Greenlet<std::string>> lookups;
    for (int i = 0; i < 300; ++i)
        lookups.push_back(green::spawn([i] {
            std::string name = std::to_string(i);  // "n" + string trips a GCC 12 false -Wrestrict
            name.insert(0, 1, 'n');
            name += ".many.test.green";
            auto r = green::dns::getaddrinfo(name, "80", {.family = AF_INET, .socktype = SOCK_STREAM});
            return r.at(0).address.host();
        }));
    auto sampler = green::spawn([&] {
        for (int i = 0; i < 50; ++i) {
            peak = std::max(peak, test::open_fds() - before);
            green::yield();
        }
    });
    int ok = 0;
    for (auto& g : lookups) ok += g.get() == "127.0.0.12";
    sampler.join();
    CHECK(ok == 300);
    CHECK(peak <= 4);
}

// A greenlet killed in the middle of a lookup leaves the resolver working.
TEST_CASE("dns: kill during a lookup") {
    SilentServer silent;
    green::dns::set_servers(silent.address());
    green::dns::set_timeout(100ms);
    green::dns::set_tries(1);
    auto g = green::spawn([] { green::dns::getaddrinfo("alpha.test.green", "80"); });
    green::yield();
    g.kill();
    CHECK(g.killed());
    green::sleep(150ms);  // the abandoned query times out in the background
    UseZone z;
    CHECK(hosts(green::dns::getaddrinfo("v4only.test.green", "80", {.socktype = SOCK_STREAM})) ==
          std::vector<std::string>{"127.0.0.11"});
}

// A Timeout bounds a lookup like any other wait.
TEST_CASE("dns: Timeout interrupts a lookup") {
    SilentServer silent;
    green::dns::set_servers(silent.address());
    green::dns::set_timeout(2s);
    CHECK_THROWS_AS(green::with_timeout(50ms, [] { green::dns::getaddrinfo("alpha.test.green", "80"); }),
                    green::TimeoutError);
}

// getnameinfo and gethostbyaddr reverse-resolve through DNS; NI_NAMEREQD fails
// for an address without a name.
TEST_CASE("dns: reverse lookups") {
    UseZone z;
    auto ni = green::dns::getnameinfo(green::Address::parse("127.0.0.10:80"));
    CHECK(ni.host == "alpha.test.green");
    CHECK(ni.service == "http");
    CHECK(green::dns::getnameinfo(green::Address::parse("127.0.0.10:80"), NI_NUMERICHOST | NI_NUMERICSERV).host ==
          "127.0.0.10");
    // NI_NOFQDN strips only the local domain; this machine's localhost has none.
    CHECK(green::dns::getnameinfo(green::Address::parse("127.0.0.10:80"), NI_NOFQDN).host == "alpha.test.green");
    CHECK(green::dns::gethostbyaddr(green::Address::parse("127.0.0.11:0")).name == "v4only.test.green");
    CHECK(eai_of([] { green::dns::getnameinfo(green::Address::parse("127.0.0.77:1"), NI_NAMEREQD); }) == EAI_NONAME);
    CHECK(green::dns::getnameinfo(green::Address::parse("127.0.0.77:1")).host == "127.0.0.77");
}

// gethostbyname gives the canonical name and addresses of one family.
TEST_CASE("dns: gethostbyname") {
    UseZone z;
    auto e = green::dns::gethostbyname("alias.test.green");
    CHECK(e.name == "alpha.test.green");
    REQUIRE(e.addresses.size() == 1);
    CHECK(e.addresses[0].host() == "127.0.0.10");
    CHECK(green::dns::gethostbyname("v6only.test.green", AF_INET6).addresses.at(0).host() == "::1");
    CHECK(eai_of([] { green::dns::gethostbyname("missing.test.green"); }) == EAI_NONAME);
    CHECK(eai_of([] { green::dns::gethostbyname("x", AF_UNIX); }) == EAI_FAMILY);
}

// Numeric hosts, the empty host and bad hints are handled without DNS.
TEST_CASE("dns: numeric hosts and bad hints") {
    auto r = green::dns::getaddrinfo("::1", "8080", {.socktype = SOCK_STREAM});
    CHECK(r.at(0).address.to_string() == "[::1]:8080");
    auto passive = green::dns::getaddrinfo("", "80", {.family = AF_INET, .socktype = SOCK_STREAM, .flags = AI_PASSIVE});
    CHECK(passive.at(0).address.host() == "0.0.0.0");
    auto mapped = green::dns::getaddrinfo("127.0.0.1", "1", {.family = AF_INET6, .socktype = SOCK_STREAM, .flags = AI_V4MAPPED});
    CHECK(mapped.at(0).address.host() == "::ffff:127.0.0.1");
    CHECK(eai_of([] { green::dns::getaddrinfo("", ""); }) == EAI_NONAME);
    CHECK(eai_of([] { green::dns::getaddrinfo("x", "", {.family = AF_UNIX}); }) == EAI_FAMILY);
    CHECK(eai_of([] { green::dns::getaddrinfo("x", "", {.flags = 0x10000}); }) == EAI_BADFLAGS);
    CHECK(eai_of([] { green::dns::getaddrinfo("not-numeric", "", {.flags = AI_NUMERICHOST}); }) == EAI_NONAME);
    CHECK(eai_of([] { green::dns::getaddrinfo("127.0.0.1", "", {.family = AF_INET6}); }) == EAI_ADDRFAMILY);
    CHECK(green::dns::getaddrinfo("0x7f.1", "", {.socktype = SOCK_STREAM}).at(0).address.host() == "127.0.0.1");
    CHECK(green::dns::getaddrinfo("2130706433", "", {.socktype = SOCK_STREAM}).at(0).address.host() == "127.0.0.1");
    CHECK(eai_of([] { green::dns::getaddrinfo("fe80::1%no-such-interface", ""); }) == EAI_NONAME);
}

// A name or service with a NUL byte inside is refused, never cut at the NUL
// ("localhost\0.example" is not localhost). Nothing is asked of DNS.
TEST_CASE("dns: names with a NUL byte are refused") {
    using namespace std::string_view_literals;
    CHECK(green::dns::getaddrinfo("localhost", "", {.family = AF_INET}).size() > 0);  // what the cut would give
    CHECK_THROWS_AS(green::dns::getaddrinfo("localhost\0.example"sv, "", {.family = AF_INET}), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::getaddrinfo("127.0.0.1\0junk"sv, ""), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::getaddrinfo("localhost", "80\0"sv), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::gethostbyname("localhost\0.example"sv), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::gethostbyname("127.0.0.1\0"sv), std::invalid_argument);
    CHECK_THROWS_AS(green::create_connection(std::string("localhost\0.example", 19), 1), std::invalid_argument);
}

// Malformed server lists and settings are refused and change nothing.
TEST_CASE("dns: bad settings") {
    CHECK_THROWS_AS(green::dns::set_servers("not a server"), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::set_servers("127.0.0.1:99999"), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::set_servers("127.0.0.1,,"), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::set_tries(0), std::invalid_argument);
    CHECK_THROWS_AS(green::dns::set_timeout(0ms), std::invalid_argument);
    UseZone z;
    CHECK(hosts(green::dns::getaddrinfo("v4only.test.green", "80", {.socktype = SOCK_STREAM})).size() == 1);
}

// After fork, the child's resolver starts afresh and works.
TEST_CASE("dns: lookup in a forked child") {
    UseZone z;
    green::dns::getaddrinfo("alpha.test.green", "80");  // the parent's channel exists
    const pid_t pid = green::fork();
    if (pid == 0) {
        int rc = 1;
        try {
            auto r = green::dns::getaddrinfo("v4only.test.green", "80", {.socktype = SOCK_STREAM});
            rc = r.at(0).address.host() == "127.0.0.11" ? 0 : 2;
        } catch (...) {
            rc = 3;
        }
        _exit(rc);
    }
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) green::sleep(5ms);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(hosts(green::dns::getaddrinfo("v4only.test.green", "80", {.socktype = SOCK_STREAM})).size() == 1);
}

// GREEN_DNS_SERVERS points a fresh process at a server.
TEST_CASE("dns: GREEN_DNS_SERVERS") {
    const auto r = test::run({HELPER_PATH, "resolve", "alpha.test.green"}, {"GREEN_DNS_SERVERS=" + zone().server()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("127.0.0.10") != std::string::npos);
}
