// Places where a program could tell it runs under greenrun (issue 14): the
// runtime's descriptor numbers, descriptors left by threads that resolved a
// name, signal handlers that install themselves again, how PROGRAM is run,
// resolv.conf's options and failure timing, a resolv.conf that changes.
// Each case runs a real program plainly and under greenrun and compares.
// Lookups run inside a private network namespace (netns_run) whose only
// interface is loopback, with its own hosts file, resolv.conf and dnsmasq.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/support.hpp"
#include "ways.hpp"

using test::contains;
using namespace ways;

namespace {


struct Netns {
    std::string hosts = test::write_temp_file("hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
    std::string resolv = test::write_temp_file("resolv.conf", "nameserver 127.0.0.1\n");
    std::string conf = test::write_temp_file("dnsmasq.conf", "local=/#/\nhost-record=a.test.green,192.0.2.10\n");
};

const Netns& netns() {
    static const Netns files;
    return files;
}

// `argv` run `way` in the namespace, with `resolv` as its /etc/resolv.conf
// (default: dnsmasq's); green reads it, as glibc does.
test::RunResult in_netns(Way way, const std::vector<std::string>& argv, std::vector<std::string> env = {},
                         const std::string& resolv = netns().resolv) {
    env = env_for(way, env);
    std::erase_if(env, [](const std::string& e) { return e.starts_with("GREEN_DNS_SERVERS="); });
    env.push_back("-GREEN_DNS_SERVERS");
    std::vector<std::string> full{NETNS_RUN, netns().hosts, resolv, netns().conf, "--"};
    for (const auto& a : argv_for(way, argv)) full.push_back(a);
    return test::run_env(full, env);
}

// Whether netns_run can make its namespace here; skips the case when not.
bool netns_available() {
    static const test::RunResult r = in_netns(Way::plain, {"/bin/true"});
    if (r.exit_code == 0) return true;
    test::skip("no private network namespace here (netns_run): " + r.err);
    return false;
}

// Runs `argv` in the namespace plainly and under greenrun (both ways) and
// compares status and output. Returns the plain run.
test::RunResult compare_in_netns(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    const test::RunResult ref = in_netns(Way::plain, argv, env);
    for (Way w : {Way::green, Way::always}) check_same(ref, in_netns(w, argv, env), w, argv[0]);
    return ref;
}

}  // namespace

// bash's `exec 3<>/dev/tcp/localhost/53` after its lookup of localhost, then
// `exec 4>file`: the redirections work, and bash has the same descriptors as
// without green. A name from the hosts file gives the thread no hub, so under
// greenrun there are no others at all; with GREEN_SHIM_COOPERATE=always the
// hub made for the connect has its own at high numbers, out of the way.
TEST_CASE("transparency: bash opens descriptor 3 and 4 after a lookup") {
    if (!shim_loads() || !netns_available()) return;
    const std::string file = test::temp_path("bash-out");
    const std::string script =
        "exec 3<>/dev/tcp/localhost/53 && echo 'fd 3: connected'\n"
        "exec 4>\"$1\" && echo 'fd 4: opened'\n"
        "echo written >&4\n"
        "exec 3>&- 4>&-\n"
        "cat \"$1\"\n"
        "for f in /proc/$$/fd/*; do n=${f##*/}; [ \"$n\" -lt \"$2\" ] && echo \"$n\"; done; exit 0\n";
    const auto argv = [&](const char* below) {
        return std::vector<std::string>{"/bin/bash", "-c", script, "bash", file, below};
    };
    const auto every = in_netns(Way::plain, argv("1000000"));
    CHECK(every.exit_code == 0);
    CHECK(contains(every.out, "fd 3: connected\nfd 4: opened\nwritten\n"));
    check_same(every, in_netns(Way::green, argv("1000000")), Way::green, "bash, every descriptor");
    const auto low = in_netns(Way::plain, argv("256"));
    check_same(low, in_netns(Way::always, argv("256")), Way::always, "bash, descriptors below 256");
}

// A C program dup2s /dev/null onto every descriptor from 3 to 1023 after a
// lookup: every dup2 succeeds (with GREEN_SHIM_COOPERATE=always the hub's epoll
// set and eventfd, up high, move out of the way), a lookup still works
// afterwards, and a child it execs sees the same descriptors as without green
// (none of the runtime's).
TEST_CASE("transparency: dup2 onto every descriptor, and what a child inherits") {
    if (!shim_loads() || !netns_available()) return;
    const auto ref = compare_in_netns({PROBE_FDS, "a.test.green"});
    CHECK(ref.exit_code == 0);
    CHECK(contains(ref.out, "getaddrinfo(a.test.green) = 0 192.0.2.10\ndup2 onto 3..1023: 0 failed\n"));
}

// The same while the thread that resolved (and has a hub: with
// GREEN_SHIM_COOPERATE=always, or GREEN_DNS=ares) is busy with its own work
// and never comes back to its loop: its epoll set and eventfd are taken from
// it meanwhile, every dup2 succeeds at once (before: EBUSY after half a second
// each), and its next lookup works.
TEST_CASE("transparency: dup2 onto every descriptor while the thread that resolved is busy") {
    if (!shim_loads() || !netns_available()) return;
    for (const char* dns : {"GREEN_DNS=auto", "GREEN_DNS=ares"}) {
        const auto ref = compare_in_netns({PROBE_FDS, "a.test.green", "busy"}, {dns});
        CHECK(ref.exit_code == 0);
        CHECK(contains(ref.out, "getaddrinfo(a.test.green) = 0 192.0.2.10\ndup2 onto 3..1023: 0 failed\n"
                                "getaddrinfo(a.test.green) = 0 192.0.2.10\n"));
    }
    // In a forked child, whose hub makes an epoll set of its own.
    const auto forked = compare_in_netns({PROBE_FDS, "a.test.green", "fork"}, {"GREEN_DNS=ares"});
    CHECK(contains(forked.out, "getaddrinfo(a.test.green) = 0 192.0.2.10\ngetaddrinfo(a.test.green) = 0 192.0.2.10\n"
                               "dup2 onto 3..1023: 0 failed\ngetaddrinfo(a.test.green) = 0 192.0.2.10\n"
                               "forked child exit 0\n"));
}

// python3, 50 threads each resolving a name once: the process has as many
// descriptors afterwards as before, under greenrun as without (each thread's
// hub closes its epoll set and eventfd when the thread ends: Python's join
// returns a moment before its OS thread has ended, so the count may take a
// little while to come back).
TEST_CASE("transparency: threads that resolved a name leave no descriptors") {
    if (!shim_loads() || !netns_available()) return;
    const std::string script =
        "import os, socket, threading, time\n"
        "def count(): return len(os.listdir('/proc/self/fd'))\n"
        "def gained():\n"
        "    deadline = time.monotonic() + 2\n"
        "    while count() != before and time.monotonic() < deadline: time.sleep(0.01)\n"
        "    return count() - before\n"
        "before = count()\n"
        "def look(name): socket.getaddrinfo(name, 80)\n"
        "for name in ('localhost', 'a.test.green'):\n"
        "    threads = [threading.Thread(target=look, args=(name,)) for _ in range(50)]\n"
        "    for t in threads: t.start()\n"
        "    for t in threads: t.join()\n"
        "    print(name, 'descriptors gained:', gained())\n";
    const auto ref = compare_in_netns({kPython, "-c", script});
    CHECK(ref.exit_code == 0);
    CHECK(ref.out == "localhost descriptors gained: 0\na.test.green descriptors gained: 0\n");
    // With green's resolver every thread that asks DNS has a hub of its own.
    check_same(ref, in_netns(Way::green, {kPython, "-c", script}, {"GREEN_DNS=ares"}), Way::green, "GREEN_DNS=ares");
}

// A System V handler (`void h(int s) { signal(s, h); }`) hammered with
// signals while the main code calls signal() in a loop: it finishes, as with
// libc's own async-signal-safe signal(), in about the same time.
TEST_CASE("transparency: a handler that installs itself again while signal() runs") {
    if (!shim_loads()) return;
    for (Way w : kWays) {
        const test::Stopwatch clock;
        const auto r = run_way(w, {PROBE_SYSV_SIGNAL, "1"});
        INFO(way_name(w) << ": " << describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out == "done: handlers ran: yes, installs: yes\n");
        CHECK(clock.seconds() < 4);
    }
}

// greenrun's preload is a stub that loads green's hooks (and libstdc++ and
// libgreen behind them) at the program's first need of them, so that an exec
// under greenrun costs about what it costs without (tools/bench measures a
// shell loop). A program that needs nothing of green never loads them. A name
// lookup needs them only when green's resolver is asked for (GREEN_DNS=ares,
// GREEN_DNS_SERVERS, which the ways set by default, GREEN_HOSTS_FILE): where no
// greenlet waits, glibc answers by default. A signal handler installed before
// they load is taken over then (the kernel runs green's trampoline), and still
// reported and run as the program's own. --threads (GREEN_THREADS) and
// GREEN_SHIM_COOPERATE=always load them at start.
TEST_CASE("transparency: the hooks load at the first need, not before") {
    if (!shim_loads()) return;
    if (::access(kHooks.c_str(), F_OK) != 0) return test::skip("no preload stub on this machine: the hooks are preloaded");
    const auto facts = [](int before, int after) {
        return "before the lookup: hooks " + std::to_string(before) + ", kernel runs the handler itself " +
               std::to_string(1 - before) + "\ngetaddrinfo(localhost) = 0\nafter the lookup: hooks " +
               std::to_string(after) + ", kernel runs the handler itself " + std::to_string(1 - after) +
               "\nsigaction reports the handler 1, raise ran it 1\n";
    };
    struct Case {
        Way way;
        std::vector<std::string> env;
        std::string out;
    };
    const std::string no_servers = "-GREEN_DNS_SERVERS";
    for (const Case& c : {Case{Way::plain, {}, facts(0, 0)}, Case{Way::green, {}, facts(0, 1)},
                          Case{Way::green, {no_servers}, facts(0, 0)},
                          Case{Way::green, {no_servers, "GREEN_DNS=ares"}, facts(0, 1)},
                          Case{Way::green, {no_servers, "GREEN_THREADS=1"}, facts(1, 1)},
                          Case{Way::green, {"GREEN_DNS=system"}, facts(0, 0)}, Case{Way::always, {}, facts(1, 1)}}) {
        auto env = env_for(c.way, c.env);
        if (std::ranges::find(c.env, no_servers) != c.env.end()) {  // env_for gives the ways one
            std::erase_if(env, [](const std::string& e) { return e.starts_with("GREEN_DNS_SERVERS="); });
            env.push_back(no_servers);
        }
        const auto r = test::run_env(argv_for(c.way, {PROBE_LATE_HOOKS}), env);
        std::string how;
        for (const auto& e : c.env) how += " " + e;
        INFO(way_name(c.way) << how << ": " << describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out == c.out);
    }
}

// Where no greenlet waits, a lookup is glibc's own even with the hooks loaded
// (GREEN_LOG=2 loads them at start): python3 resolving a DNS name ends with as
// many descriptors as without greenrun, where green's resolver would have
// given its thread a hub (GREEN_DNS=ares: two more, its epoll set and eventfd).
TEST_CASE("transparency: a lookup no greenlet waits for is glibc's") {
    if (!shim_loads() || !netns_available()) return;
    const std::vector<std::string> argv{
        kPython, "-c", "import os, socket; socket.getaddrinfo('a.test.green', 80); print(len(os.listdir('/proc/self/fd')))"};
    const auto plain = in_netns(Way::plain, argv);
    REQUIRE_MESSAGE(plain.exit_code == 0, describe(plain));
    const auto glibc = in_netns(Way::green, argv, {"GREEN_LOG=2"});
    CHECK_MESSAGE(glibc.out == plain.out, describe(glibc));
    const auto ares = in_netns(Way::green, argv, {"GREEN_DNS=ares"});
    CHECK_MESSAGE(std::stoi(ares.out) == std::stoi(plain.out) + 2, describe(ares));
}

// The stub forwards every libc symbol the hooks define, and defines no other.
TEST_CASE("transparency: the preload stub forwards every symbol the hooks define") {
    if (::access(kHooks.c_str(), F_OK) != 0) return test::skip("no preload stub on this machine: the hooks are preloaded");
    const std::string nm = "/usr/bin/nm";
    if (::access(nm.c_str(), X_OK) != 0) return test::skip("no " + nm + " (binutils) to list the symbols");
    const auto symbols = [&](const std::string& library) {
        const auto r = test::run({nm, "-D", "--defined-only", library});
        REQUIRE_MESSAGE(r.exit_code == 0, "nm " << library << ": " << r.err);
        std::set<std::string> names;
        std::istringstream lines(r.out);
        for (std::string address, type, name; lines >> address >> type >> name;)
            if ((type == "T" || type == "W") && !name.starts_with("_Z") && !name.starts_with("green_")) names.insert(name);
        return names;
    };
    const auto hooks = symbols(kHooks);
    CHECK(hooks.size() > 150);
    CHECK(symbols(kShim) == hooks);
}

// greenrun runs PROGRAM as env does (execvp): found through PATH, and a script
// without a #! line runs through /bin/sh.
TEST_CASE("transparency: greenrun runs PROGRAM as env does") {
    if (!shim_loads()) return;
    const std::string dir = test::temp_path("bin");
    ::mkdir(dir.c_str(), 0755);
    const std::string script = dir + "/no-shebang";
    {
        std::ofstream(script) << "echo \"ran with $# arguments: $*\"\nexit 3\n";
    }
    ::chmod(script.c_str(), 0755);
    const std::vector<std::string> path_env = {"PATH=" + dir + ":/usr/bin:/bin"};
    for (const std::string& program : {script, std::string("no-shebang")}) {
        INFO(program);
        const auto ref = run_way(Way::plain, {"/usr/bin/env", program, "a", "b"}, path_env);
        CHECK(ref.exit_code == 3);
        CHECK(ref.out == "ran with 2 arguments: a b\n");
        const auto got = run_way(Way::green, {program, "a", "b"}, path_env);
        check_same(ref, got, Way::green, program, {true});
    }
}

namespace {

// Inside the namespace: UDP sockets on 127.0.0.2, .4, .5 and .6, port 53, that
// never answer (on 127.0.0.3:53 nothing listens: it refuses), then PROGRAM;
// prints PROGRAM's output and the seconds it took (at most 40).
const char* const kSilentServer =
    "import socket, subprocess, sys, time\n"
    "silent = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]\n"
    "for s, host in zip(silent, ('127.0.0.2', '127.0.0.4', '127.0.0.5', '127.0.0.6')): s.bind((host, 53))\n"
    "start = time.monotonic()\n"
    "try: out = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=40).stdout\n"
    "except subprocess.TimeoutExpired: out = 'still waiting after 40 s\\n'\n"
    "print(out, end='')\n"
    "print(round(time.monotonic() - start, 2))\n";

// One lookup of `name` by python3's socket.getaddrinfo: its addresses or gaierror.
std::vector<std::string> python_lookup(const std::string& name) {
    return {kPython, "-c",
            "import socket, sys\n"
            "try: print(sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[1], 80, type=socket.SOCK_STREAM)}))\n"
            "except socket.gaierror as e: print('gaierror', e.errno)\n",
            name};
}

struct Timed {
    std::string out;
    double seconds = 0;
};

// Under greenrun, green's resolver answers (GREEN_DNS=ares): by default glibc
// answers a program that has no greenlets.
Timed timed_in_netns(Way way, const std::vector<std::string>& argv, std::vector<std::string> env,
                     const std::string& resolv) {
    std::vector<std::string> full{kPython, "-c", kSilentServer};
    for (const auto& a : argv_for(way, argv)) full.push_back(a);
    if (way != Way::plain) env.push_back("GREEN_DNS=ares");
    // The way's environment reaches PROGRAM through the driver (never preloaded itself).
    const test::RunResult r = in_netns(Way::plain, full, env_for(way, env), resolv);
    INFO(way_name(way) << ": " << describe(r));
    CHECK(r.exit_code == 0);
    const auto last = r.out.rfind('\n', r.out.size() - 2);
    Timed t;
    t.out = last == std::string::npos ? "" : r.out.substr(0, last + 1);
    t.seconds = std::atof(r.out.substr(last == std::string::npos ? 0 : last + 1).c_str());
    return t;
}

}  // namespace

// With a server that never answers, a lookup fails after the time glibc takes:
// resolv.conf's `options timeout:N attempts:N` (also from RES_OPTIONS), rounds
// over the first three servers without doubling from round to round, each
// server waited for as long as glibc waits for it, and one more
// candidate name when a search list (`search`, `domain`, LOCALDOMAIN) applies;
// a server that refuses costs nothing. Within a second.
TEST_CASE("transparency: lookup timing with a server that never answers matches glibc") {
    if (!shim_loads() || !netns_available()) return;
    struct Case {
        const char* resolv;
        std::vector<std::string> env;
        const char* name;
        double glibc_about;  // what glibc 2.36 takes, as a sanity check of the reference run
    };
    const Case cases[] = {
        {"nameserver 127.0.0.2\noptions timeout:1 attempts:2\n", {}, "never.test.green", 2},
        {"nameserver 127.0.0.2\noptions timeout:1 attempts:1\nsearch a.green b.green\n", {}, "never.test.green", 2},
        {"nameserver 127.0.0.2\ndomain a.green\n", {"RES_OPTIONS=timeout:1 attempts:3"}, "never", 6},
        {"nameserver 127.0.0.2\noptions timeout:1 attempts:1\n", {"LOCALDOMAIN=a.green b.green"}, "never", 2},
        {"nameserver 127.0.0.2\noptions timeout:1 attempts:1\nsearch a.green\n", {}, "never.", 1},
        {"nameserver 127.0.0.2\n", {}, "never.test.green", 10},  // glibc's defaults: 5 s, 2 attempts
        {"nameserver 127.0.0.3\n", {}, "never.test.green", 0},
        {"nameserver 127.0.0.3\nnameserver 127.0.0.2\noptions timeout:1 attempts:2\n", {}, "never.test.green", 2},
        // Several servers: glibc waits 2 s, then 4/3 and 8/3 s (rounded down).
        {"nameserver 127.0.0.2\nnameserver 127.0.0.4\nnameserver 127.0.0.5\noptions timeout:2 attempts:1\n", {},
         "never.test.green", 5},
        // Each server waited for as long as glibc waits for it: two that refuse
        // cost nothing, the third is given 5 << 2 / 3 s.
        {"nameserver 127.0.0.3\nnameserver 127.0.0.7\nnameserver 127.0.0.2\noptions timeout:5 attempts:1\n", {},
         "never.test.green", 6},
        // glibc asks the first three servers only.
        {"nameserver 127.0.0.2\nnameserver 127.0.0.4\nnameserver 127.0.0.5\nnameserver 127.0.0.6\n"
         "options timeout:1 attempts:2\n",
         {}, "never.test.green", 6},
    };
    for (const Case& c : cases) {
        const std::string resolv = test::temp_path("silent-resolv.conf");
        std::ofstream(resolv) << c.resolv;
        INFO("resolv.conf: " << std::string(c.resolv) << "name: " << std::string(c.name));
        const Timed glibc = timed_in_netns(Way::plain, python_lookup(c.name), c.env, resolv);
        const Timed green = timed_in_netns(Way::green, python_lookup(c.name), c.env, resolv);
        CHECK(glibc.out == "gaierror -3\n");
        CHECK(green.out == glibc.out);
        CHECK(glibc.seconds > c.glibc_about - 0.5);
        CHECK(glibc.seconds < c.glibc_about + 1.5);
        CHECK(std::abs(green.seconds - glibc.seconds) < 1.0);
    }
}

// `options rotate` starts each lookup one server further, as glibc does: of
// four lookups with a silent first server and dnsmasq second, two wait for
// the silent one (1 s each), where without rotate all four would.
TEST_CASE("transparency: rotate spreads lookups over the servers as glibc does") {
    if (!shim_loads() || !netns_available()) return;
    const std::string resolv = test::temp_path("rotate-resolv.conf");
    std::ofstream(resolv) << "nameserver 127.0.0.2\nnameserver 127.0.0.1\noptions timeout:1 attempts:1 rotate\n";
    const std::vector<std::string> lookups{
        kPython, "-c",
        "import socket\n"
        "for _ in range(4): print(sorted({a[4][0] for a in socket.getaddrinfo('a.test.green', 80, socket.AF_INET)}))\n"};
    const Timed glibc = timed_in_netns(Way::plain, lookups, {}, resolv);
    const Timed green = timed_in_netns(Way::green, lookups, {}, resolv);
    CHECK(glibc.out == "['192.0.2.10']\n['192.0.2.10']\n['192.0.2.10']\n['192.0.2.10']\n");
    CHECK(green.out == glibc.out);
    CHECK(glibc.seconds > 1.5);
    CHECK(glibc.seconds < 3.0);
    CHECK(std::abs(green.seconds - glibc.seconds) < 1.0);
}

// A program that runs on while /etc/resolv.conf changes uses the new servers
// at its next lookup, with green's resolver as with glibc 2.36: the first lookup asks a server that
// is not there, then the file (rewritten in place) names dnsmasq.
TEST_CASE("transparency: a changed resolv.conf is read at the next lookup") {
    if (!shim_loads() || !netns_available()) return;
    const std::string script =
        "import socket\n"
        "def look():\n"
        "    try: return sorted({a[4][0] for a in socket.getaddrinfo('a.test.green', 80, socket.AF_INET)})\n"
        "    except socket.gaierror as e: return 'gaierror %d' % e.errno\n"
        "print(look())\n"
        "with open('/etc/resolv.conf', 'r+') as f:\n"
        "    f.truncate(0)\n"
        "    f.write('nameserver 127.0.0.1\\n')\n"
        "print(look())\n";
    for (Way w : kWays) {
        const std::string resolv = test::temp_path("changing-resolv.conf");
        std::ofstream(resolv) << "nameserver 127.0.0.3\noptions timeout:1 attempts:1\n";
        // Under greenrun green's resolver answers (by default glibc would: no greenlet waits).
        const std::vector<std::string> env = w == Way::plain ? std::vector<std::string>{} : std::vector<std::string>{"GREEN_DNS=ares"};
        const auto r = in_netns(w, {kPython, "-c", script}, env, resolv);
        INFO(way_name(w) << ": " << describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out == "gaierror -3\n['192.0.2.10']\n");
    }
}
