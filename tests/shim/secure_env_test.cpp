// A privileged program (AT_SECURE: setuid, or a file capability) started by an
// unprivileged user ignores every GREEN_* variable, in the runtime and in the
// shim: the environment is the caller's, who must not configure it.
//
// The probe (secure_probe.cpp) is copied into a fresh directory, made
// privileged and run as nobody in a private network namespace, so that no
// lookup leaves the machine. It finds libgreen through an absolute RUNPATH
// (the loader ignores $ORIGIN for a privileged program). Needs root.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/support.hpp"

using test::contains;

namespace {

// Why the privileged runs cannot be made here, or "".
std::string cannot_run() {
    if (::geteuid() != 0) return "not root: a setuid or setcap copy needs root";
    for (const char* tool : {"/usr/bin/setpriv", "/usr/bin/unshare"})
        if (::access(tool, X_OK) != 0) return std::string(tool) + " is not installed (util-linux)";
    if (test::run({"/usr/bin/unshare", "-n", "/bin/true"}).exit_code != 0)
        return "no private network namespace here (unshare -n)";
    return "";
}

// A copy of the probe in a directory of its own that nobody may enter, and a
// hosts file that says localhost is 127.0.0.9.
struct Probe {
    std::string dir;
    std::string path;
    std::string hosts;

    Probe() {
        // A directory of its own, not temp_path's (mode 0700): nobody must reach the
        // probe and its hosts file, and a setuid copy must not outlive the test.
        char pattern[] = "/tmp/green-secure-XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        dir = pattern;
        REQUIRE(::chmod(dir.c_str(), 0755) == 0);
        path = dir + "/secure_probe";
        std::filesystem::copy_file(SECURE_PROBE, path);
        hosts = dir + "/hosts";
        std::ofstream(hosts) << "127.0.0.9 localhost\n";
        REQUIRE(::chmod(hosts.c_str(), 0644) == 0);
    }
    ~Probe() { std::filesystem::remove_all(dir); }
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    // Runs the probe as nobody with the GREEN_* variables set.
    test::RunResult run(const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> env{"GREEN_HOSTS_FILE=" + hosts, "GREEN_THREADPOOL_SIZE=3",
                                     "ASAN_OPTIONS=detect_leaks=0"};  // LSan cannot trace a privileged process
        env.insert(env.end(), extra.begin(), extra.end());
        return test::run_env({"/usr/bin/unshare", "-n", "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                              "--clear-groups", path},
                             env);
    }
};

// The probe ignored every variable it was given.
void check_ignored(const Probe& p) {
    const auto r = p.run();
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(r.out == "threadpool 10\nlocalhost 127.0.0.1\n", r.err);
    const auto verbose = p.run({"GREEN_LOG=2"});
    CHECK(verbose.exit_code == 0);
    CHECK(!contains(verbose.err, "green: shim active"));
}

}  // namespace

// The same probe, unprivileged, takes the variables: what the cases below
// check is what a privileged one would otherwise have taken.
TEST_CASE("secure env: an unprivileged program takes GREEN_* variables") {
    if (const std::string why = cannot_run(); !why.empty()) return test::skip(why);
    Probe p;
    const auto r = p.run();
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(r.out == "threadpool 3\nlocalhost 127.0.0.9\n", r.err);
    CHECK(contains(p.run({"GREEN_LOG=2"}).err, "green: shim active in pid "));
}

// setuid root, started by nobody.
TEST_CASE("secure env: a setuid program ignores GREEN_* variables") {
    if (const std::string why = cannot_run(); !why.empty()) return test::skip(why);
    Probe p;
    REQUIRE(::chmod(p.path.c_str(), 04755) == 0);
    check_ignored(p);
}

// A file capability (no setuid bit), started by nobody.
TEST_CASE("secure env: a program with a file capability ignores GREEN_* variables") {
    if (const std::string why = cannot_run(); !why.empty()) return test::skip(why);
    if (::access("/usr/sbin/setcap", X_OK) != 0) return test::skip("/usr/sbin/setcap is not installed (libcap2-bin)");
    Probe p;
    const auto set = test::run({"/usr/sbin/setcap", "cap_net_bind_service+ep", p.path});
    if (set.exit_code != 0) return test::skip("setcap failed here: " + set.err);
    check_ignored(p);
}
