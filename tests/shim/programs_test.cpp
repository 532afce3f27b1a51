// Real programs under the shim: each runs without it (plain libc), under
// greenrun, and under greenrun with GREEN_SHIM_COOPERATE=always (every hook
// takes the cooperative path); what they print and their exit status must be
// the same. Every server a test needs is started here, on 127.0.0.1, and
// stopped at the end of the test.
//
// No lookup leaves the machine: programs run plainly resolve only numeric
// addresses and localhost (the hosts file); under greenrun GREEN_DNS_SERVERS
// points at a test dnsmasq or at a loopback port where nothing listens.
// Comparisons with glibc's own resolver run inside a private network and mount
// namespace (netns_run) whose only interface is loopback.
#include <doctest/doctest.h>

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/support.hpp"
#include "ways.hpp"

using test::contains;
using namespace ways;

namespace {

// ---------------------------------------------------------------------------
// Files, servers.


bool exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

// The names of the undefined dynamic symbols of an ELF file (what it imports).
std::set<std::string> imported_symbols(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::set<std::string> out;
    if (data.size() < sizeof(Elf64_Ehdr) || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0) return out;
    Elf64_Ehdr eh;
    std::memcpy(&eh, data.data(), sizeof eh);
    auto section = [&](std::size_t i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, data.data() + eh.e_shoff + i * eh.e_shentsize, sizeof sh);
        return sh;
    };
    for (std::size_t i = 0; i < eh.e_shnum; ++i) {
        const Elf64_Shdr sh = section(i);
        if (sh.sh_type != SHT_DYNSYM) continue;
        const Elf64_Shdr strtab = section(sh.sh_link);
        for (std::size_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            std::memcpy(&sym, data.data() + sh.sh_offset + off, sizeof sym);
            if (sym.st_shndx == SHN_UNDEF && sym.st_name) out.insert(data.data() + strtab.sh_offset + sym.st_name);
        }
    }
    return out;
}

// Programs run plainly look up localhost and 127.0.0.1 (python's getaddrinfo,
// http.server's getfqdn, the constructor probe) through glibc: that stays on
// this machine only if /etc/hosts has the IPv4 line for localhost. Otherwise
// the test stops rather than let glibc ask the system's DNS server.
void require_localhost_in_hosts() {
    std::ifstream hosts("/etc/hosts");
    bool found = false;
    for (std::string line; std::getline(hosts, line) && !found;) {
        std::istringstream words(line.substr(0, line.find('#')));
        std::string address, name;
        words >> address;
        while (address == "127.0.0.1" && words >> name) found = found || name == "localhost";
    }
    REQUIRE_MESSAGE(found, "/etc/hosts has no '127.0.0.1 localhost' line: glibc would ask the system's DNS server");
}

// A directory served by `python3 -m http.server` on 127.0.0.1.
struct HttpServer {
    std::string dir = test::temp_path("www");
    int port = test::free_port();
    std::string big;
    test::Process process;

    HttpServer() : process(start()) { test::wait_for_port(port, 20); }

    test::Process start() {
        require_localhost_in_hosts();
        ::mkdir(dir.c_str(), 0755);
        std::ofstream(dir + "/hello.txt") << "hello from the test server\n";
        for (int i = 0; i < 1024; ++i)
            for (int b = 0; b < 256; ++b) big.push_back(static_cast<char>(b));
        std::ofstream(dir + "/big.bin", std::ios::binary) << big;
        return test::Process({"/bin/sh", "-c",
                              "exec " + kPython + " -m http.server " + std::to_string(port) +
                                  " --bind 127.0.0.1 --directory '" + dir + "' >/dev/null 2>&1"});
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

// A port where nothing listens (TCP): connections are refused.
int closed_port() { return test::free_port(); }

// ---------------------------------------------------------------------------
// The DNS test data: a dnsmasq zone and a hosts file. Addresses are loopback
// or documentation addresses only.

const std::vector<std::string> kZone = {
    "host-record=a4.test.green,192.0.2.10",
    "host-record=a6.test.green,2001:db8::10",
    "host-record=both.test.green,192.0.2.11,2001:db8::11",
    "host-record=both.test.green,127.0.0.11,::1",
    "host-record=many.test.green,192.0.2.21,2001:db8::21",
    "host-record=many.test.green,192.0.2.22",
    "host-record=many.test.green,192.0.2.23,fd00::23",
    "host-record=shadow.test.green,192.0.2.50",
    "cname=chain1.test.green,chain2.test.green",
    "cname=chain2.test.green,both.test.green",
    "cname=chain6.test.green,a6.test.green",
    "txt-record=txtonly.test.green,\"only text here\"",
};

const char* const kHosts =
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "# a comment line\n"
    "127.0.0.30\thosts4.test.green hosts4 h4alias\n"
    "fd00::30\thosts6.test.green hosts6\n"
    "127.0.0.31\thostsboth.test.green\n"
    "fd00::31\thostsboth.test.green hbalias\n"
    "127.0.0.32\tdup.test.green dupalias\n"
    "127.0.0.33\tdup.test.green\n"
    "127.0.0.32\tdup.test.green\n"
    "127.0.0.34\tshadow.test.green\n"
    "  127.0.0.35   spaced.test.green\t# trailing comment\n"
    "127.0.0.36\tCase.test.green casealias\n"
    "127.0.0.37\tcase.test.green\n"
    "127.0.0.38\tCASE.test.green other\n"
    "127.0.0.39\tlong.test.green l1 l2 l3 l4 l5 l6 l7 l8 l9 the-aliases-make-this-line-longer-than-the-"
    "small-buffers-the-probe-tries-so-that-glibc-runs-out-of-room-reading-it the-end\n"
    "192.0.2.40\thosts-doc.test.green\n";

std::vector<std::string> zone_options() {
    std::vector<std::string> out;
    for (const auto& r : kZone) out.push_back("--" + r);
    return out;
}

// The files netns_run bind-mounts, and the dnsmasq configuration it starts.
struct NetnsFiles {
    std::string hosts = test::write_temp_file("netns-hosts", kHosts);
    std::string resolv = test::write_temp_file("netns-resolv.conf", "nameserver 127.0.0.1\nsearch test.green\noptions timeout:2 attempts:2\n");
    std::string conf = test::write_temp_file("netns-dnsmasq.conf", [] {
        // Authoritative for everything: a name not in the zone is NXDOMAIN.
        std::string c = "local=/#/\n";
        for (const auto& r : kZone) c += r + "\n";
        return c;
    }());
};

const NetnsFiles& netns_files() {
    static const NetnsFiles files;
    return files;
}

test::RunResult in_netns(const std::vector<std::string>& argv, std::vector<std::string> env = {}) {
    const NetnsFiles& f = netns_files();
    std::vector<std::string> full{NETNS_RUN, f.hosts, f.resolv, f.conf, "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return test::run_env(full, env);
}

// Whether netns_run can make its namespace here (root, unshare allowed).
bool netns_available() {
    static const bool ok = [] {
        const auto r = in_netns({"/bin/true"});
        if (r.exit_code != 0)
            std::fprintf(stderr, "shim programs: no private network namespace here, glibc comparisons skipped: %s\n",
                         r.err.c_str());
        return r.exit_code == 0;
    }();
    return ok;
}

// "[label] rest" lines of probe_dns, by label, in order.
std::vector<std::pair<std::string, std::string>> labelled_lines(const std::string& out) {
    std::vector<std::pair<std::string, std::string>> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        const auto close = line.find("] ");
        const std::string label = line.size() > 1 && line[0] == '[' && close != std::string::npos
                                      ? line.substr(1, close - 1)
                                      : line.substr(0, std::min<std::size_t>(line.size(), 60));
        lines.emplace_back(label, line);
    }
    return lines;
}

}  // namespace


// curl and wget deadlock in glibc's setlocale with libasan preloaded, before
// green is involved.
const std::string kSetlocaleDeadlock = " deadlocks in glibc's setlocale with libasan preloaded (without green too)";

// Whether glibc's own resolver can be compared with (in netns_run); skips the
// case when not.
bool glibc_comparable() {
    if (netns_available()) return true;
    test::skip("no private network namespace here (netns_run): glibc's resolver cannot be compared");
    return false;
}

// Every program the suite runs exists (says what to install rather than failing every test later).
TEST_CASE("shim: the programs under test are there") {
    if (!shim_loads()) return;
    for (const std::string& p : {kGreenrun, kShim, std::string(PROBE_IO_FORTIFY), std::string(PROBE_POLL),
                                 std::string(PROBE_DNS), kPython, std::string("/usr/bin/curl"),
                                 std::string("/usr/bin/wget"), std::string("/usr/bin/redis-server"),
                                 std::string("/usr/bin/redis-cli"), std::string("/usr/sbin/dnsmasq")}) {
        INFO(p << " is missing (tools/setup installs the packages; ninja builds greenrun)");
        CHECK(exists(p));
    }
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether `s` holds a "YYYY-MM-DD HH:MM:SS" timestamp at `at`.
bool timestamp_at(const std::string& s, std::size_t at) {
    static constexpr std::string_view shape = "0000-00-00 00:00:00";
    if (at + shape.size() > s.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i)
        if (shape[i] == '0' ? !is_digit(s[at + i]) : s[at + i] != shape[i]) return false;
    return true;
}

// curl's "after 12 ms", wget's "--2026-01-01 12:00:00--  URL" and "2026-01-01 12:00:00 ERROR 404" are timings.
std::string without_timings(const std::string& err) {
    std::string out;
    for (std::size_t at = 0; at < err.size();) {
        if (timestamp_at(err, at)) {
            out += "DATE";
            at += 19;
        } else if (err.compare(at, 6, "after ") == 0 && at + 6 < err.size() && is_digit(err[at + 6])) {
            std::size_t end = at + 6;
            while (end < err.size() && is_digit(err[end])) ++end;
            out += err.compare(end, 3, " ms") == 0 ? "after N" : err.substr(at, end - at);
            at = end;
        } else {
            out += err[at++];
        }
    }
    return out;
}

std::string sorted_lines(const std::string& s) {
    std::vector<std::string> lines;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

std::string quoted(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        std::string q = "'";
        for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += (out.empty() ? "" : " ") + q + "'";
    }
    return out;
}

}  // namespace

// curl fetches the same bodies, HTTP errors and connection errors (exit status, message) with and without the shim.
TEST_CASE("shim: curl against a local HTTP server") {
    if (!shim_loads() || !runs_beside_asan("curl" + kSetlocaleDeadlock)) return;
    HttpServer http;
    const Compare with_err{true, without_timings};
    const std::string curl = "/usr/bin/curl";
    auto ref = compare_ways({curl, "-sS", "--noproxy", "*", http.url("/hello.txt")}, {}, with_err);
    CHECK(ref.exit_code == 0);
    CHECK(ref.out == "hello from the test server\n");
    ref = compare_ways({curl, "-sS", "--noproxy", "*", http.url("/big.bin")}, {}, with_err);
    CHECK(ref.out == http.big);
    ref = compare_ways({curl, "-sS", "-f", "--noproxy", "*", http.url("/missing")}, {}, with_err);
    CHECK(ref.exit_code == 22);
    // Several transfers at once (curl's multi interface: one poll over all of them).
    ref = compare_ways({curl, "-sS", "-Z", "--noproxy", "*", "-w", "%{http_code} %{size_download}\\n", "-o",
                        "/dev/null", "-o", "/dev/null", "-o", "/dev/null", http.url("/big.bin"), http.url("/hello.txt"),
                        http.url("/missing")},
                       {}, {});
    CHECK(sorted_lines(ref.out).starts_with("200 262144\n200 27\n404 "));
    // Nothing listens: connection refused.
    ref = compare_ways({curl, "-sS", "--noproxy", "*", "http://127.0.0.1:" + std::to_string(closed_port()) + "/"}, {},
                       with_err);
    CHECK(ref.exit_code == 7);
    // A green server (examples/http_hello) as the peer.
    const int port = test::free_port();
    test::Process hello({std::string(EXAMPLES_DIR) + "/http_hello", std::to_string(port)});
    test::wait_for_port(port);
    ref = compare_ways({curl, "-sS", "--noproxy", "*", "http://127.0.0.1:" + std::to_string(port) + "/"}, {}, with_err);
    CHECK(ref.out == "Hello, World!");
}

// wget fetches the same bodies and fails with the same exit status and message (404, connection refused) with and without the shim.
TEST_CASE("shim: wget against a local HTTP server") {
    if (!shim_loads() || !runs_beside_asan("wget" + kSetlocaleDeadlock)) return;
    HttpServer http;
    const Compare with_err{true, without_timings};
    const std::string wget = "/usr/bin/wget";
    auto ref = compare_ways({wget, "-q", "--no-proxy", "-O", "-", http.url("/hello.txt")}, {}, with_err);
    CHECK(ref.exit_code == 0);
    CHECK(ref.out == "hello from the test server\n");
    ref = compare_ways({wget, "-q", "--no-proxy", "-O", "-", http.url("/big.bin")}, {}, with_err);
    CHECK(ref.out == http.big);
    ref = compare_ways({wget, "-nv", "--no-proxy", "-O", "-", http.url("/missing")}, {}, with_err);
    CHECK(ref.exit_code == 8);
    ref = compare_ways({wget, "--no-proxy", "-O", "-", "http://127.0.0.1:" + std::to_string(closed_port()) + "/"}, {},
                       with_err);
    CHECK(ref.exit_code == 4);
    CHECK(contains(ref.err, "Connection refused"));
}

// redis-cli gives the same replies (commands as arguments, from stdin, repeated with an interval, a blocking BLPOP that times out) and the same connection error with and without the shim.
TEST_CASE("shim: redis-cli against a local redis-server") {
    if (!shim_loads()) return;
    const int port = test::free_port();
    const std::string p = std::to_string(port);
    test::Process server({"/usr/bin/redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly",
                          "no", "--logfile", "/dev/null", "--daemonize", "no"});
    test::wait_for_port(port, 20);
    const std::vector<std::vector<std::string>> commands = {
        {"FLUSHALL"},
        {"SET", "greeting", "hello"},
        {"GET", "greeting"},
        {"INCR", "counter"},
        {"INCRBY", "counter", "41"},
        {"RPUSH", "list", "a", "b", "c"},
        {"LRANGE", "list", "0", "-1"},
        {"HSET", "h", "f1", "v1", "f2", "v2"},
        {"HGETALL", "h"},
        {"GET", "nothing"},
        {"EXPIRE", "greeting", "100"},
        {"TTL", "greeting"},
        {"DEL", "greeting"},
        {"EXISTS", "greeting"},
        {"BLPOP", "empty", "0.3"},
        {"LPOP", "nolist"},
        {"NOSUCHCOMMAND"},
        {"INCR", "list"},
    };
    const std::string cli = "/usr/bin/redis-cli";
    const std::string closed = std::to_string(closed_port());
    std::map<Way, std::string> transcript;
    for (Way w : kWays) {
        std::string& t = transcript[w];
        for (const auto& c : commands) {
            std::vector<std::string> argv{cli, "-p", p};
            argv.insert(argv.end(), c.begin(), c.end());
            const auto r = run_way(w, argv);
            t += "$ " + c[0] + " -> exit " + std::to_string(r.exit_code) + "\n" + r.out + r.err;
        }
        const auto piped = run_way(w, {cli, "-p", p}, {}, "SET a 1\nINCR a\nGET a\nLRANGE list 0 -1\nPING\n");
        t += "$ stdin -> exit " + std::to_string(piped.exit_code) + "\n" + piped.out + piped.err;
        const auto repeated = run_way(w, {cli, "-p", p, "-r", "3", "-i", "0.1", "INCR", "repeated"});
        t += "$ -r 3 -i 0.1 -> exit " + std::to_string(repeated.exit_code) + "\n" + repeated.out + repeated.err;
        const auto refused = run_way(w, {cli, "-p", closed, "PING"});
        t += "$ closed port -> exit " + std::to_string(refused.exit_code) + "\n" + refused.out + refused.err;
    }
    const std::string& ref = transcript[Way::plain];
    CHECK(contains(ref, "$ GET -> exit 0\nhello\n"));
    CHECK(contains(ref, "$ LRANGE -> exit 0\na\nb\nc\n"));
    CHECK(contains(ref, "Connection refused"));
    for (Way w : {Way::green, Way::always}) {
        INFO(way_name(w));
        const bool same = transcript[w] == ref;
        CHECK_MESSAGE(same, test::first_difference(ref, transcript[w], "shim"));
    }
}

// Python's socket timeouts, select, poll, create_connection, urllib, getaddrinfo of localhost, time.sleep, subprocess and asyncio print the same with and without the shim.
TEST_CASE("shim: python3 standard library networking") {
    if (!shim_loads()) return;
    HttpServer http;
    const auto ref = compare_ways({kPython, PROBE_PY, std::to_string(http.port)}, {}, {true});
    CHECK(ref.exit_code == 0);
    CHECK(ref.err == "");
    CHECK(contains(ref.out, "recv timeout: TimeoutError timed out about 0.2 s: True"));
    CHECK(contains(ref.out, "urllib: 200 b'hello from the test server\\n'"));
    CHECK(ref.out.ends_with("done\n"));
}

// The fortified build really imports __read_chk, __recv_chk, __recvfrom_chk and __poll_chk, and its reads, recvs, polls, fcntl, ioctl FIONBIO, SO_RCVTIMEO, sendfile and signals (sigaction, signal, siginterrupt, sysv_signal, sigset), splice and tee print the same with and without the shim.
TEST_CASE("shim: a C program built with -O2 -D_FORTIFY_SOURCE=3") {
    if (!shim_loads()) return;
    const auto symbols = imported_symbols(PROBE_IO_FORTIFY);
    for (const char* s : {"__read_chk", "__recv_chk", "__recvfrom_chk", "__poll_chk"}) {
        INFO("the fortified probe should import " << std::string(s));
        CHECK(symbols.count(s) == 1);
    }
    const auto ref = compare_ways({PROBE_IO_FORTIFY, "io"}, {}, {true});
    CHECK(ref.exit_code == 0);
    CHECK(ref.err == "");
    CHECK(!contains(ref.out, "FATAL"));
    CHECK(contains(ref.out, "recv with SO_RCVTIMEO: -1 EAGAIN\ntimed out after about 0.2 s: 1\n"));
    // Handlers installed through siginterrupt, sysv_signal and sigset interrupt a read as glibc says;
    // splice and tee wait and fail as the kernel's do; pause and sigsuspend end with the handler.
    for (const char* line : {"read interrupted (siginterrupt 1): -1 EINTR\n"
                             "read interrupted (signal after siginterrupt 1): -1 EINTR\n"
                             "read restarted (siginterrupt 0): 5\n",
                             "signal(SIG_ERR): -1 EINVAL\nsysv_signal(SIG_ERR): -1 EINVAL\nsignal(0): -1 EINVAL\n",
                             "read interrupted (sysv_signal): -1 EINTR\nsysv_signal handler reset to SIG_DFL: 1\n",
                             "read interrupted (sigset): -1 EINTR\n",
                             "splice from a socket (waits): 4\nread it: 4\ngot: back\n",
                             "tee from a socket: -1 EINVAL\n",
                             "pause: -1 EINTR\nsigsuspend: -1 EINTR\nSIGALRM blocked again after sigsuspend: 1\n"})
        CHECK(contains(ref.out, line));
    CHECK(ref.out.ends_with("== done\n"));
}

// The _FILE_OFFSET_BITS=64 build imports fcntl64 and sendfile64 (not fcntl, sendfile) and prints the same with and without the shim.
TEST_CASE("shim: a C program built with -D_FILE_OFFSET_BITS=64") {
    if (!shim_loads()) return;
    const auto symbols = imported_symbols(PROBE_IO_LFS);
    CHECK(symbols.count("fcntl64") == 1);
    CHECK(symbols.count("sendfile64") == 1);
    CHECK(symbols.count("fcntl") == 0);
    CHECK(symbols.count("sendfile") == 0);
    const auto ref = compare_ways({PROBE_IO_LFS, "io"}, {}, {true});
    CHECK(ref.exit_code == 0);
    CHECK(ref.err == "");
    CHECK(ref.out.ends_with("== done\n"));
    // Both builds do the same things: the same output.
    CHECK(ref.out == run_way(Way::plain, {PROBE_IO_FORTIFY, "io"}).out);
}

// A read, recv or poll past the end of its buffer still aborts with glibc's "buffer overflow detected" under the shim.
TEST_CASE("shim: fortify violations still abort") {
    if (!shim_loads()) return;
    for (const char* mode : {"overflow-read", "overflow-recv", "overflow-poll"}) {
        INFO(std::string(mode));
        const auto ref = compare_ways({PROBE_IO_FORTIFY, mode}, {}, {true});
        CHECK(ref.signal == SIGABRT);
        CHECK(contains(ref.err, "*** buffer overflow detected ***: terminated"));
        CHECK(ref.out == "");
    }
}

// The shim never leaves O_NONBLOCK on a pipe it shares: after PROG ran under greenrun, head still writes all 300000 bytes into the same pipe while the reader sleeps.
TEST_CASE("shim: a pipe shared with the next command stays blocking") {
    if (!shim_loads()) return;
    const std::vector<std::vector<std::string>> programs = {
        {"/bin/cat", "/dev/null"},
        {kPython, "-c", "print('a little')"},
        {PROBE_IO_FORTIFY, "pipe-writer"},
        {PROBE_IO_LFS, "pipe-writer"},
    };
    for (const auto& prog : programs) {
        const std::size_t own = run_way(Way::plain, prog).out.size();
        std::string ref;
        for (Way w : kWays) {
            INFO(prog[0] << " " << way_name(w));
            const std::string pipeline =
                "{ " + quoted(argv_for(w, prog)) + "; head -c 300000 /dev/zero; } | (sleep .5; wc -c)";
            const auto r = test::run_env({"/bin/sh", "-c", pipeline}, env_for(w, {}));
            CHECK(r.exit_code == 0);
            CHECK(r.err == "");
            CHECK(std::atol(r.out.c_str()) == static_cast<long>(300000 + own));
            if (w == Way::plain)
                ref = r.out;
            else
                CHECK(r.out == ref);
        }
    }
}

// poll with duplicate, negative and closed descriptors, nfds 0, timeout 0, events 0, signals and 3000 descriptors reports the same results and revents with and without the shim.
TEST_CASE("shim: poll corner cases and thousands of descriptors") {
    if (!shim_loads()) return;
    const auto ref = compare_ways({PROBE_POLL}, {}, {true});
    CHECK(ref.exit_code == 0);
    CHECK(contains(ref.out, "thousands ready:"));
    CHECK(contains(ref.out, "nfds above RLIMIT_NOFILE: -1 EINVAL"));
    CHECK(ref.out.ends_with("done\n"));
}

namespace {

const std::vector<std::string> kLookupNames = {"hosts4.test.green", "a4.test.green", "a6.test.green", "nx.test.green"};

// probe_dns MODE kLookupNames under greenrun (both ways) against a test
// dnsmasq and hosts file; compared with each other, with the zone's data and,
// where namespaces work, with glibc in netns_run.
void check_lookups(const std::string& mode) {
    test::Dnsmasq dns(zone_options());
    const std::vector<std::string> env = {"GREEN_HOSTS_FILE=" + test::write_temp_file("hosts", kHosts),
                                          "GREEN_DNS_SERVERS=" + dns.server()};
    std::vector<std::string> argv{PROBE_DNS, mode};
    argv.insert(argv.end(), kLookupNames.begin(), kLookupNames.end());
    const auto green = run_way(Way::green, argv, env);
    const auto always = run_way(Way::always, argv, env);
    CHECK(green.exit_code == 0);
    CHECK(always.exit_code == 0);
    CHECK(green.signal == 0);
    CHECK(always.signal == 0);
    const bool same_ways = always.out == green.out;
    CHECK_MESSAGE(same_ways, test::first_difference(green.out, always.out, "shim"));
    // The zone's data, in every section of the output (before/after, parent/child).
    std::size_t sections = 0;
    for (const auto& labelled : labelled_lines(always.out)) {
        const std::string& label = labelled.first;  // named, not bound: CHECK_MESSAGE captures them
        const std::string& line = labelled.second;
        if (contains(label, "hosts4.test.green") && contains(line, "gai(")) {
            ++sections;
            CHECK_MESSAGE(line.ends_with("= 0 | INET sock=1 proto=6 len=16 flags=0 127.0.0.30 port 80"), line);
        }
        if (contains(label, "a4.test.green") && contains(line, "gai(")) CHECK_MESSAGE(line.ends_with("192.0.2.10 port 80"), line);
        if (contains(label, "a6.test.green") && contains(line, "gai(")) CHECK_MESSAGE(line.ends_with("2001:db8::10 port 80 scope 0 flow 0"), line);
        if (contains(label, "nx.test.green") && contains(line, "gai(")) CHECK_MESSAGE(contains(line, "EAI_NONAME"), line);
    }
    CHECK(sections >= 2);
    CHECK(contains(always.out, "poll empty 0 ready 1 revents 0x1 usleep 0"));
    if (!glibc_comparable()) return;
    const auto plain = in_netns(argv);
    CHECK(plain.exit_code == 0);
    const bool same_as_glibc = green.out == plain.out;
    CHECK_MESSAGE(same_as_glibc, "glibc vs green " << test::first_difference(plain.out, green.out, "shim"));
}

}  // namespace

// close_range(3, ~0U, 0) leaves the runtime's descriptors open: lookups (hosts file and dnsmasq), polls and sleeps still work after it, as glibc's do.
TEST_CASE("shim: lookups after close_range") {
    if (!shim_loads()) return;
    check_lookups("closerange");
}

// closefrom(3), whose close_range glibc makes internally, leaves them open too.
TEST_CASE("shim: lookups after closefrom") {
    if (!shim_loads()) return;
    check_lookups("closefrom");
}

// A forked child resolves (hosts file and dnsmasq), polls and sleeps, and so does the parent afterwards, as with glibc.
TEST_CASE("shim: lookups in a forked child") {
    if (!shim_loads()) return;
    check_lookups("fork");
}

// GREEN_DNS=system gives lookups back to glibc: a name only green's hosts file
// (GREEN_HOSTS_FILE) has is found with green's resolver and not with glibc's,
// which reads the namespace's /etc/hosts; both find the zone's names in DNS.
TEST_CASE("shim: GREEN_DNS=system leaves lookups to glibc") {
    if (!shim_loads() || !glibc_comparable()) return;
    const std::string green_hosts = test::write_temp_file("green-only-hosts", "127.0.0.77\tgreen-only.test.green\n");
    const std::vector<std::string> argv = {PROBE_DNS, "lookup", "green-only.test.green", "a4.test.green"};
    std::vector<std::string> env = env_for(Way::always, {"GREEN_HOSTS_FILE=" + green_hosts});
    std::erase_if(env, [](const std::string& e) { return e.starts_with("GREEN_DNS_SERVERS="); });
    env.push_back("-GREEN_DNS_SERVERS");  // the namespace's resolv.conf, as glibc's
    const auto ares = in_netns(argv_for(Way::always, argv), env);
    env.push_back("GREEN_DNS=system");
    const auto system = in_netns(argv_for(Way::always, argv), env);
    const auto plain = in_netns(argv);
    CHECK(ares.exit_code == 0);
    CHECK(contains(ares.out, "127.0.0.77 port 80"));
    CHECK(contains(ares.out, "192.0.2.10 port 80"));
    CHECK(system.exit_code == 0);
    CHECK_FALSE(contains(system.out, "127.0.0.77"));
    CHECK(contains(system.out, "192.0.2.10 port 80"));
    CHECK(system.out == plain.out);
}

// jemalloc and tcmalloc preloaded beside the shim, in either order, change nothing: 3000-descriptor polls, lookups, curl and the python probe print the same.
TEST_CASE("shim: jemalloc and tcmalloc beside the shim") {
    if (!shim_loads() || !runs_beside_asan("another allocator cannot replace AddressSanitizer's, and curl" + kSetlocaleDeadlock))
        return;
    HttpServer http;
    for (const std::string lib : {"libjemalloc.so.2", "libtcmalloc_minimal.so.4"}) {
        const std::string path = std::string(MULTIARCH_LIBDIR) + "/" + lib;
        INFO(path);
        REQUIRE_MESSAGE(::access(path.c_str(), R_OK) == 0, "install libjemalloc2 and libtcmalloc-minimal4 (tools/setup)");
        // The two orders really are the two orders.
        CHECK(run_way(Way::green, {"/usr/bin/printenv", "LD_PRELOAD"}, {"LD_PRELOAD=" + path}).out ==
              kShim + ":" + path + "\n");
        CHECK(run_way(Way::green, {"/usr/bin/printenv", "LD_PRELOAD"}, {"LD_PRELOAD=" + path + ":" + kShim}).out ==
              path + ":" + kShim + "\n");
        const std::vector<std::vector<std::string>> programs = {
            {PROBE_POLL, "thousands"},
            {PROBE_DNS, "lookup", "localhost"},
            {"/usr/bin/curl", "-sS", "--noproxy", "*", http.url("/big.bin")},
            {kPython, PROBE_PY, std::to_string(http.port)},
        };
        for (const auto& prog : programs) {
            const auto ref = run_way(Way::plain, prog, {"LD_PRELOAD=" + path});
            CHECK(ref.exit_code == 0);
            // greenrun puts the shim before the allocator...
            for (Way w : {Way::green, Way::always})
                check_same(ref, run_way(w, prog, {"LD_PRELOAD=" + path}), w, prog[0] + " with " + lib + " after the shim",
                           {true});
            // ...or keeps an LD_PRELOAD that already names it: allocator first.
            check_same(ref, run_way(Way::always, prog, {"LD_PRELOAD=" + path + ":" + kShim}), Way::always,
                       prog[0] + " with " + lib + " before the shim", {true});
        }
    }
}

// Hooked calls (usleep, getaddrinfo of localhost, poll, read) from a library's constructor and destructor, static constructors and destructors and an atexit handler behave as without the shim, and the program exits 0.
TEST_CASE("shim: hooked calls in constructors and destructors") {
    if (!shim_loads()) return;
    require_localhost_in_hosts();
    const auto ref = compare_ways({PROBE_CTOR}, {}, {true});
    CHECK(ref.exit_code == 0);
    CHECK(ref.err == "");
    for (const char* who : {"library constructor", "static constructor", "main", "function-static destructor",
                            "atexit handler", "static destructor", "library destructor"})
        CHECK_MESSAGE(contains(ref.out, std::string(who) +
                                            ": usleep 0 getaddrinfo 0 127.0.0.1 poll empty 0 ready 1 revents 0x1 read 1\n"),
                      who);
}

namespace {

// The namespaces the resolver is compared in: loopback only, and loopback with
// a documentation IPv4 and a unique-local IPv6 address (as a host with both
// families looks to AI_ADDRCONFIG and to the address sort).
struct NetnsConfig {
    const char* name;
    const char* lo_addresses;
};
const NetnsConfig kConfigs[] = {{"lo only", nullptr}, {"lo with 192.0.2.2 and fd00::2", "192.0.2.2/24 fd00::2/64"}};

struct MatrixRuns {
    test::RunResult glibc, green;
};

// probe_dns matrix under glibc and under greenrun in the namespace `c`.
const MatrixRuns& matrix_runs(const NetnsConfig& c) {
    static std::map<std::string, MatrixRuns> cache;
    auto it = cache.find(c.name);
    if (it != cache.end()) return it->second;
    std::vector<std::string> env;
    if (c.lo_addresses) env.push_back(std::string("NETNS_LO_ADDRESSES=") + c.lo_addresses);
    MatrixRuns runs;
    runs.glibc = in_netns({PROBE_DNS, "matrix"}, env_for(Way::plain, env));
    // Green reads the bind-mounted /etc/hosts and /etc/resolv.conf, as glibc does.
    std::vector<std::string> green_env = env_for(Way::green, env);
    std::erase_if(green_env, [](const std::string& e) { return e.starts_with("GREEN_DNS_SERVERS="); });
    green_env.push_back("-GREEN_DNS_SERVERS");
    runs.green = in_netns(argv_for(Way::green, {PROBE_DNS, "matrix"}), green_env);
    return cache.emplace(c.name, std::move(runs)).first->second;
}

struct Difference {
    std::string label, glibc, green;
};

std::vector<Difference> differences(const MatrixRuns& runs) {
    std::map<std::string, std::string> green;
    for (const auto& [label, line] : labelled_lines(runs.green.out)) green[label] = line;
    std::vector<Difference> out;
    for (const auto& [label, line] : labelled_lines(runs.glibc.out)) {
        auto it = green.find(label);
        const std::string other = it == green.end() ? "<missing>" : it->second;
        if (other != line) out.push_back({label, line, other});
    }
    return out;
}

}  // namespace

// Inside a private namespace (hosts file and dnsmasq zone bind-mounted), green's resolver answers every getaddrinfo, getnameinfo, gethostbyname(2)(_r), gethostbyaddr(_r) and res_query case of the matrix exactly as glibc does.
TEST_CASE("shim: DNS matches glibc") {
    if (!shim_loads() || !glibc_comparable()) return;
    for (const NetnsConfig& c : kConfigs) {
        INFO("namespace: " << std::string(c.name));
        const MatrixRuns& runs = matrix_runs(c);
        REQUIRE_MESSAGE(runs.glibc.exit_code == 0, describe(runs.glibc));
        CHECK_MESSAGE(runs.green.exit_code == 0, describe(runs.green));
        CHECK(runs.glibc.out.ends_with("[end]\n"));
        CHECK(runs.green.out.ends_with("[end]\n"));
        // The zone is really served: sanity of the reference run.
        CHECK(contains(runs.glibc.out, "[gai a4.test.green unspec-stream] gai(a4.test.green, 80, fam=UNSPEC sock=1 "
                                       "proto=0 flags=0) = 0 | INET sock=1 proto=6 len=16 flags=0 192.0.2.10 port 80\n"));
        std::string unexpected;
        int count = 0;
        for (const Difference& d : differences(runs))
            if (++count <= 40) unexpected += "\n  glibc: " + d.glibc + "\n  green: " + d.green;
        CHECK_MESSAGE(count == 0, count << " cases differ:" << unexpected);
    }
}

