// Helpers shared by the unit tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace test {

// Seconds since `start` on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Stopwatch {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double seconds() const { return seconds_since(start); }
};

// What a child process did.
struct RunResult {
    int exit_code = -1;     // -1 when it died of a signal
    int signal = 0;         // the signal that ended it, or 0
    std::string out;
    std::string err;
};

// Runs `argv` (argv[0] is a path) with extra environment entries "NAME=value"
// and collects its output. Never uses a shell.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

// Number of open file descriptors of this process.
int open_fds();

}  // namespace test
