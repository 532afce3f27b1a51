// The greenrun launcher: options, environment, LD_PRELOAD, refusals, exit status.
//
// In a sanitized build the shim is sanitized too and cannot be preloaded into
// an uninstrumented program, so there the cases that need the shim really
// loaded are skipped and the rest point GREEN_PRELOAD at a library that does not
// exist (the loader says so on stderr and runs the program anyway).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/support.hpp"

using test::contains;

namespace {

const std::string kGreenrun = GREENRUN_PATH;
// The library as greenrun finds it: beside itself, in the build tree.
const std::string kShim = kGreenrun.substr(0, kGreenrun.rfind('/')) + "/../shim/libgreen_preload.so";
const std::string kMissingShim = "/nonexistent/libgreen_preload.so";

// greenrun ARGS..., with GREEN_PRELOAD and LD_PRELOAD as the case needs them.
test::RunResult greenrun(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{kGreenrun};
    argv.insert(argv.end(), args.begin(), args.end());
    if (GREEN_SANITIZED) env.push_back("GREEN_PRELOAD=" + kMissingShim);
    for (const char* v : {"GREEN_LOG", "GREEN_STACK_SIZE", "GREEN_MONITOR_MS", "GREEN_DNS", "GREEN_DNS_SERVERS",
                          "LD_PRELOAD", "GREEN_PRELOAD"}) {
        bool given = false;
        for (const auto& e : env) given = given || e.starts_with(std::string(v) + "=");
        if (!given) env.push_back(std::string("-") + v);
    }
    return test::run_env(argv, env);
}

// A copy of /bin/true with `mode` (setuid or setgid bits).
std::string copy_of_true_with(mode_t mode, const char* name) {
    const std::string path = test::temp_path(name);
    std::filesystem::copy_file("/bin/true", path, std::filesystem::copy_options::overwrite_existing);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path;
}

}  // namespace

// --version and --help answer and exit 0 without running anything.
TEST_CASE("greenrun: --version and --help") {
    const auto v = greenrun({"--version"});
    CHECK(v.exit_code == 0);
    CHECK(v.out == std::string("greenrun (green) ") + GREEN_VERSION + "\n");
    const auto h = greenrun({"--help"});
    CHECK(h.exit_code == 0);
    CHECK(h.out.starts_with("usage: greenrun [options] [--] PROGRAM [ARGS...]"));
    for (const char* option : {"--quiet", "--verbose", "--stack-size", "--monitor", "--dns=", "--dns-servers", "--check"})
        CHECK_MESSAGE(contains(h.out, option), option);
}

// Bad usage and bad option values are refused with exit status 2 and a reason.
TEST_CASE("greenrun: bad usage") {
    const auto none = greenrun({});
    CHECK(none.exit_code == 2);
    CHECK(none.err.starts_with("usage: greenrun"));
    const auto unknown = greenrun({"--frobnicate", "/bin/true"});
    CHECK(unknown.exit_code == 2);
    CHECK(contains(unknown.err, "unknown option '--frobnicate'"));
    for (const char* bad : {"--stack-size=abc", "--stack-size=", "--stack-size=12Q", "--monitor=-5", "--monitor=",
                            "--monitor=ten", "--dns=bind", "--dns-servers="}) {
        const auto r = greenrun({bad, "/bin/true"});
        CHECK_MESSAGE(r.exit_code == 2, bad);
        CHECK_MESSAGE(r.err.starts_with("greenrun: --"), bad << ": " << r.err);
    }
    // "--" ends the options: what follows is the program, even with a dash.
    const auto dashed = greenrun({"--", "--version"});
    CHECK(dashed.exit_code == 127);
    CHECK(contains(dashed.err, "--version: command not found"));
}

// A program that is not there: 127, as a shell says.
TEST_CASE("greenrun: a program that is not there") {
    const auto r = greenrun({"no-such-program-green-test"});
    CHECK(r.exit_code == 127);
    CHECK(r.err == "greenrun: no-such-program-green-test: command not found\n");
    CHECK(greenrun({"/nonexistent/program"}).exit_code == 127);
}

// setuid, setgid and statically linked programs are refused (126) with the reason:
// the loader would ignore LD_PRELOAD, and the program would run without green.
TEST_CASE("greenrun: setuid, setgid and static programs are refused") {
    const auto suid = greenrun({copy_of_true_with(04755, "suid-true")});
    CHECK(suid.exit_code == 126);
    CHECK(contains(suid.err, "it is setuid, and the dynamic loader ignores LD_PRELOAD"));
    const auto sgid = greenrun({copy_of_true_with(02755, "sgid-true")});
    CHECK(sgid.exit_code == 126);
    CHECK(contains(sgid.err, "it is setgid"));
    const auto statically = greenrun({STATIC_PROGRAM});
    CHECK(statically.exit_code == 126);
    CHECK(contains(statically.err, "it is statically linked"));
    CHECK(statically.out == "");  // it did not run
}

// A program with file capabilities is refused like a setuid one: the loader
// ignores LD_PRELOAD for it too.
TEST_CASE("greenrun: a program with file capabilities is refused") {
    if (::geteuid() != 0) return test::skip("not root: setcap needs CAP_SETFCAP");
    if (::access("/usr/sbin/setcap", X_OK) != 0) return test::skip("/usr/sbin/setcap is not installed (libcap2-bin)");
    const std::string path = copy_of_true_with(0755, "cap-true");
    const auto set = test::run({"/usr/sbin/setcap", "cap_net_bind_service+ep", path});
    if (set.exit_code != 0) return test::skip("setcap failed here: " + set.err);
    for (const char* option : {"", "--check"}) {
        std::vector<std::string> args;
        if (*option) args.push_back(option);
        args.push_back(path);
        const auto r = greenrun(args);
        CHECK_MESSAGE(r.exit_code == 126, option);
        CHECK_MESSAGE(contains(r.err, "it has file capabilities, and the dynamic loader ignores LD_PRELOAD"), r.err);
    }
}

// A truncated ELF file is called that, not "statically linked".
TEST_CASE("greenrun: a truncated ELF file is reported as truncated") {
    std::ifstream in("/bin/true", std::ios::binary);
    std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t size : {std::size_t{7}, std::size_t{64}, std::size_t{100}}) {
        const std::string path = test::temp_path("truncated-" + std::to_string(size));
        std::ofstream(path, std::ios::binary) << whole.substr(0, size);
        REQUIRE(::chmod(path.c_str(), 0755) == 0);
        const auto r = greenrun({path});
        CHECK_MESSAGE(r.exit_code == 126, size);
        CHECK_MESSAGE(r.err == "greenrun: refusing to run " + path + ": it is a truncated ELF file (it ends before its headers do)\n", r.err);
    }
}

// Every option becomes its GREEN_* variable in the program's environment, and
// the library goes first in LD_PRELOAD, before what was there.
TEST_CASE("greenrun: options become GREEN_* variables and LD_PRELOAD is prepended") {
    const auto r = greenrun({"-q", "--stack-size=256K", "--monitor=50", "--dns=system", "--dns-servers=127.0.0.1:5353",
                             "/usr/bin/printenv", "GREEN_LOG", "GREEN_STACK_SIZE", "GREEN_MONITOR_MS", "GREEN_DNS",
                             "GREEN_DNS_SERVERS"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "0\n256K\n50\nsystem\n127.0.0.1:5353\n");
    CHECK(greenrun({"-v", "/usr/bin/printenv", "GREEN_LOG"}).out == "2\n");
    CHECK(greenrun({"--monitor=0", "/usr/bin/printenv", "GREEN_MONITOR_MS"}).out == "0\n");  // reports off
    const std::string shim = GREEN_SANITIZED ? kMissingShim : kShim;
    CHECK(greenrun({"/usr/bin/printenv", "LD_PRELOAD"}).out == shim + "\n");
    // An existing LD_PRELOAD stays, after the shim; one that names it already is kept as it is.
    const std::string other = test::temp_path("other.so");
    CHECK(greenrun({"/usr/bin/printenv", "LD_PRELOAD"}, {"LD_PRELOAD=" + other}).out == shim + ":" + other + "\n");
    CHECK(greenrun({"/usr/bin/printenv", "LD_PRELOAD"}, {"LD_PRELOAD=" + other + ":" + shim}).out ==
          other + ":" + shim + "\n");
    // PROGRAM is looked up in PATH like a shell does.
    CHECK(greenrun({"printenv", "GREEN_LOG"}, {"GREEN_LOG=1"}).out == "1\n");
}

// The program's exit status, and the signal that killed it, pass through.
TEST_CASE("greenrun: the exit status and a fatal signal pass through") {
    CHECK(greenrun({"/bin/sh", "-c", "exit 7"}).exit_code == 7);
    CHECK(greenrun({"/bin/true"}).exit_code == 0);
    const auto killed = greenrun({"/bin/sh", "-c", "kill -TERM $$"});
    CHECK(killed.signal == SIGTERM);
}

// --check asks PROGRAM's loader whether the library loads into it; PROGRAM never runs.
TEST_CASE("greenrun: --check") {
    if (GREEN_SANITIZED) return test::skip("the sanitized shim does not load into an uninstrumented program");
    const std::string marker = test::temp_path("check-ran");
    const auto r = greenrun({"--check", "/bin/sh", "-c", "touch " + marker});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greenrun: the shim loads into /bin/sh (" + kShim + ")\n");
    CHECK(::access(marker.c_str(), F_OK) != 0);  // the program never ran
    // With -v the running program says that the shim is active in it.
    const auto v = greenrun({"-v", "/bin/true"});
    CHECK(v.exit_code == 0);
    CHECK(contains(v.err, "green: shim active in pid "));
    CHECK(greenrun({"-q", "/bin/true"}).err == "");
    // GREEN_LOG out of its range is ignored, with a word.
    const auto loud = greenrun({"/bin/true"}, {"GREEN_LOG=7"});
    CHECK(loud.exit_code == 0);
    CHECK(loud.err == "green: ignoring GREEN_LOG='7': not a whole number from 0 to 2\n");
}

// --check says so when the library does not load, and the program does not run then either.
TEST_CASE("greenrun: --check with a library that does not load") {
    const auto r = greenrun({"--check", "/bin/true"}, {"GREEN_PRELOAD=" + kMissingShim});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "greenrun: the shim did not load into /bin/true"));
    CHECK(contains(r.err, "cannot be preloaded"));  // the loader's own reason
    const std::string marker = test::temp_path("check-missing-ran");
    const auto sh = greenrun({"--check", "/bin/sh", "-c", "touch " + marker}, {"GREEN_PRELOAD=" + kMissingShim});
    CHECK(sh.exit_code == 1);
    CHECK(::access(marker.c_str(), F_OK) != 0);  // the program never ran
}

// --check of a 32-bit program says why the shim cannot load, without running it.
TEST_CASE("greenrun: --check never runs a program the shim cannot load into") {
    if (std::string(PROGRAM_32BIT).empty()) return test::skip("the toolchain cannot make a 32-bit program here");
    std::string ran;
    try {
        ran = test::run({PROGRAM_32BIT}).out;
    } catch (const std::exception& e) {  // the kernel cannot run one (no IA-32 emulation): ENOEXEC
        return test::skip(std::string("32-bit programs do not run here: ") + e.what());
    }
    if (ran != "32-bit program ran\n") return test::skip("32-bit programs do not run here (no /lib/ld-linux.so.2)");
    const auto r = greenrun({"--check", PROGRAM_32BIT});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "");
    CHECK(contains(r.err, "the shim cannot load into " + std::string(PROGRAM_32BIT) + ": it is a 32-bit program"));
}

// --check of a script asks about its interpreter, which does not run the script either.
TEST_CASE("greenrun: --check of a script checks its interpreter") {
    if (GREEN_SANITIZED) return test::skip("the sanitized shim does not load into an uninstrumented program");
    const std::string marker = test::temp_path("script-ran");
    const std::string script = test::temp_path("script.sh");
    std::ofstream(script) << "#!/bin/sh\ntouch " << marker << "\n";
    REQUIRE(::chmod(script.c_str(), 0755) == 0);
    const auto r = greenrun({"--check", script});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greenrun: the shim loads into /bin/sh, the interpreter of " + script + " (" + kShim + ")\n");
    CHECK(::access(marker.c_str(), F_OK) != 0);
}
