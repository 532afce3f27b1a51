// Running a real program the three ways the shim tests compare: plainly,
// under greenrun, and under greenrun with GREEN_SHIM_COOPERATE=always (every
// hook takes the cooperative path). Needs GREENRUN_PATH, SANITIZER_RUNTIME and
// GREEN_SANITIZED defined by the build (tests/shim/meson.build).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "support/support.hpp"

namespace ways {

inline const std::string kGreenrun = GREENRUN_PATH;
// The library as greenrun names it in LD_PRELOAD (it looks beside itself), so
// that an LD_PRELOAD naming it already is recognised and kept as it is.
inline const std::string kShim = kGreenrun.substr(0, kGreenrun.rfind('/')) + "/../shim/libgreen_preload.so";
// What the shim's preload loads when the program first needs it (x86-64; elsewhere
// the preload is the hooks themselves and this does not exist).
inline const std::string kHooks = kGreenrun.substr(0, kGreenrun.rfind('/')) + "/../shim/libgreen_hooks.so.0";
inline const std::string kPython = "/usr/bin/python3";


enum class Way { plain, green, always };
inline constexpr Way kWays[] = {Way::plain, Way::green, Way::always};

// In a sanitized build the shim is sanitized too, and loads into a program only
// after its sanitizer's runtime: greenrun is told to preload that runtime
// first (GREEN_PRELOAD). tests/meson.build knows AddressSanitizer's; under
// another sanitizer the suite is skipped.
inline const std::string kSanitizerRuntime = SANITIZER_RUNTIME;

inline std::string way_name(Way w) {
    switch (w) {
    case Way::plain: return "plain";
    case Way::green: return "greenrun";
    default: return "greenrun, GREEN_SHIM_COOPERATE=always";
    }
}

// A UDP/TCP port on loopback where nothing listens: the DNS server greenrun runs
// get unless a test gives its own, so that a lookup the test did not plan for
// fails fast (and visibly) instead of going anywhere.
inline const std::string& nowhere_dns() {
    static const std::string s = "127.0.0.1:" + std::to_string(test::free_port());
    return s;
}

inline bool has_name(const std::vector<std::string>& env, const std::string& name) {
    for (const auto& e : env)
        if (e.compare(0, name.size() + 1, name + "=") == 0) return true;
    return false;
}

// The environment of a run: `env` plus what the way needs. Variables of the
// shim the caller did not set are removed, so that the outer environment
// cannot change what is tested.
inline std::vector<std::string> env_for(Way w, std::vector<std::string> env) {
    for (const char* v : {"GREEN_SHIM_COOPERATE", "GREEN_DNS", "GREEN_LOG", "GREEN_HOSTS_FILE", "GREEN_DNS_SERVERS",
                          "LD_PRELOAD"})
        if (!has_name(env, v)) env.push_back(std::string("-") + v);
    if (w == Way::plain) return env;
    if (!has_name(env, "GREEN_DNS_SERVERS")) {
        std::erase(env, "-GREEN_DNS_SERVERS");
        env.push_back("GREEN_DNS_SERVERS=" + nowhere_dns());
    }
    if (w == Way::always) {
        std::erase(env, "-GREEN_SHIM_COOPERATE");
        env.push_back("GREEN_SHIM_COOPERATE=always");
    }
    if (!kSanitizerRuntime.empty() && !has_name(env, "GREEN_PRELOAD")) {
        env.push_back("GREEN_PRELOAD=" + kSanitizerRuntime + ":" + kShim);
        // The programs' own allocations are not ours to judge.
        env.push_back("ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1");
    }
    return env;
}

inline std::vector<std::string> argv_for(Way w, const std::vector<std::string>& argv) {
    if (w == Way::plain) return argv;
    std::vector<std::string> out{kGreenrun, "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

inline test::RunResult run_way(Way w, const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                        const std::string& input = "") {
    return test::run_env(argv_for(w, argv), env_for(w, env), input);
}


inline std::string describe(const test::RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.signal) + "\n--- stdout\n" +
           r.out.substr(0, 3000) + "\n--- stderr\n" + r.err.substr(0, 3000);
}

struct Compare {
    bool err = false;                                 // compare stderr too
    std::string (*normalize)(const std::string&) = nullptr;  // applied to stderr first
};

// Checks that `got` (run `way`) matches the plain run `ref`.
inline void check_same(const test::RunResult& ref, const test::RunResult& got, Way way, const std::string& what,
                Compare how = {}) {
    INFO(what << " (" << way_name(way) << ")");
    CHECK_MESSAGE(got.exit_code == ref.exit_code, "plain: " << describe(ref) << "\nshim: " << describe(got));
    CHECK_MESSAGE(got.signal == ref.signal, "plain: " << describe(ref) << "\nshim: " << describe(got));
    const bool same_stdout = got.out == ref.out;
    CHECK_MESSAGE(same_stdout, "stdout " << test::first_difference(ref.out, got.out, "shim")
                                          << "\nshim stderr: " << got.err.substr(0, 2000));
    if (how.err) {
        const std::string a = how.normalize ? how.normalize(ref.err) : ref.err;
        const std::string b = how.normalize ? how.normalize(got.err) : got.err;
        const bool same_stderr = a == b;
        CHECK_MESSAGE(same_stderr, "stderr " << test::first_difference(a, b, "shim"));
    }
}

// Runs `argv` the three ways and compares the shim runs with the plain one.
// Returns the plain run.
inline test::RunResult compare_ways(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                             Compare how = {}, const std::string& input = "") {
    const test::RunResult ref = run_way(Way::plain, argv, env, input);
    for (Way w : {Way::green, Way::always}) check_same(ref, run_way(w, argv, env, input), w, argv[0], how);
    return ref;
}

// Whether the shim can be preloaded in this build; says why not (the case is
// then skipped).
inline bool shim_loads() {
    if (!GREEN_SANITIZED || !kSanitizerRuntime.empty()) return true;
    test::skip("only AddressSanitizer's runtime is known: a shim built with another sanitizer cannot be preloaded");
    return false;
}

// Whether the case can run with libasan preloaded into its programs (as it is in
// an ASan build); skips it with `why` when not.
inline bool runs_beside_asan(const std::string& why) {
    if (kSanitizerRuntime.empty()) return true;
    test::skip(why);
    return false;
}

}  // namespace ways
