// Helpers shared by the unit tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace test {

// Whether this is a ThreadSanitizer build (TSan maps memory of its own for every
// fiber, so counts of mappings mean nothing there).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
inline constexpr bool kThreadSanitizer = __has_feature(thread_sanitizer);
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Seconds since `start` on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Marks the running case as skipped and says why on stderr; the case returns
// right after: `if (!ok) return test::skip("why");`. meson then counts it as
// SKIP (tests/doctest_main.cpp), never as passed; a failed check before it
// still fails the case.
void skip(const std::string& why);
// Whether skip() was called.
bool skipped();

// Whether `part` occurs in `text`.
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

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

// Like run(), but each "NAME=value" in `env` replaces an inherited NAME (run()
// appends, and the first of two entries wins), "-NAME" removes NAME, and
// `input` is written to the child's standard input (then closed).
RunResult run_env(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& input = "");

// Number of open file descriptors of this process.
int open_fds();

// Number of OS threads of process `pid` now (/proc/PID/task), 0 if it is gone.
int os_threads(pid_t pid);

// A plain child process (no shell, nothing green in it) that sleeps `ms`, then
// exits with `code`. Throws std::system_error if fork fails.
pid_t child_exiting_after(int ms, int code);

// A TCP/UDP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A child process started without a shell; killed (SIGTERM, then SIGKILL) when
// the object goes away.
class Process {
public:
    explicit Process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    int pid() const { return pid_; }
    // Waits for it to exit; returns the exit code, or -signal.
    int wait();

private:
    int pid_ = -1;
};

// A dnsmasq serving a test zone on 127.0.0.1:port() (authoritative for
// test.green: unknown names there are NXDOMAIN). `records` are dnsmasq options
// such as "--host-record=a.test.green,127.0.0.10" or "--cname=b.test.green,a.test.green".
class Dnsmasq {
public:
    explicit Dnsmasq(const std::vector<std::string>& records);
    int port() const { return port_; }
    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    int port_;
    Process process_;
};

// A site of 30 pages in a temporary directory, p1.html to p30.html, page i
// linking to pages 2i and 2i+1, served by python3's http.server on
// 127.0.0.1:port(): a crawler starting at /p1.html finds all 30.
class LinkedSite {
public:
    LinkedSite();
    int port() const { return port_; }

private:
    int port_;
    Process process_;
};

// Waits until something accepts TCP connections on 127.0.0.1:port (or throws).
void wait_for_port(int port, double seconds = 5);

// A path in a fresh temporary directory, removed when the test process exits.
std::string temp_path(const std::string& name);
// temp_path(name), with `content` written to it.
std::string write_temp_file(const std::string& name, const std::string& content);

// The first line where `a` and `b` differ, for failure messages; `b_name` names
// the second run ("plain" is the first).
std::string first_difference(const std::string& a, const std::string& b, const std::string& b_name);

}  // namespace test
