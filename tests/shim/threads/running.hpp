// A program that runs while a thread-patching test talks to it and counts its
// OS threads (threads_test.cpp, programs_test.cpp).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/support.hpp"

extern char** environ;

namespace threads_test {

// The OS threads of process `pid` now (its /proc/PID/task entries), or -1.
inline int count_tasks(pid_t pid) {
    DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (!d) return -1;
    int n = 0;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

inline std::chrono::steady_clock::time_point after(double seconds) {
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

// `changes` applied to this process's environment (test::run_env's form:
// "NAME=value" replaces, "-NAME" removes).
inline std::vector<std::string> environment(const std::vector<std::string>& changes) {
    auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        bool replaced = false;
        for (const auto& c : changes)
            replaced = replaced || (c[0] == '-' ? c.substr(1) == name_of(entry) : name_of(c) == name_of(entry));
        if (!replaced) envs.push_back(entry);
    }
    for (const auto& c : changes)
        if (c[0] != '-') envs.push_back(c);
    return envs;
}

// The environment a program of this build needs under greenrun in a sanitized
// build (`runtime`: the sanitizer runtime's path; "" in other builds: nothing).
// The shim is sanitized, so the sanitizer runtime must be preloaded first:
// GREEN_PRELOAD names both, and greenrun puts it in front of LD_PRELOAD.
// ASan's pthread_create interceptor then wraps every green thread, which gets
// ASan's per-thread state (its pthread key is per green thread, like every
// key), destroyed when the green thread ends; so:
//   intercept_tls_get_addr=0: ASan's record of dynamic TLS is the OS thread's
//     and would be freed (then freed again) on the carrier at each end;
//   use_sigaltstack=0: ASan would take the carrier's alternate signal stack
//     (the runtime's) down at each end likewise;
//   detect_leaks=0 for real programs: LeakSanitizer reports what they still
//     hold at exit (python3 does, with or without green); kept for the probes.
inline std::vector<std::string> sanitizer_env(const std::string& runtime, const std::string& shim, bool detect_leaks) {
    if (runtime.empty()) return {};
    return {"GREEN_PRELOAD=" + runtime + ":" + shim,
            std::string("ASAN_OPTIONS=intercept_tls_get_addr=0:use_sigaltstack=0:detect_leaks=") +
                (detect_leaks ? "1" : "0")};
}

// A program started without a shell: stdin and stdout are pipes, stderr goes
// to a file. Killed (SIGKILL) if still running when the object goes away.
class Running {
public:
    Running(const std::vector<std::string>& argv, const std::vector<std::string>& env_changes, const std::string& name)
        : err_path_(test::temp_path(name + ".stderr")) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<std::string> envs = environment(env_changes);
        std::vector<char*> cargv, cenv;
        for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
        cargv.push_back(nullptr);
        for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
        cenv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(out[1]);
        in_ = in[1];
        out_ = out[0];
        if (rc != 0) {
            pid_ = -1;
            throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
        }
    }

    ~Running() {
        close_stdin();
        if (out_ >= 0) close(out_);
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

    pid_t pid() const { return pid_; }

    // Waits until nothing more was written on its stderr for `quiet` seconds
    // (at most `seconds` in all): it has logged what it had to.
    void wait_stderr_quiet(double quiet, double seconds) const {
        const auto until = after(seconds);
        struct stat st {};
        off_t last = -1;
        auto last_change = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() < until) {
            const off_t size = ::stat(err_path_.c_str(), &st) == 0 ? st.st_size : 0;
            const auto now = std::chrono::steady_clock::now();
            if (size != last) {
                last = size;
                last_change = now;
            } else if (now - last_change >= std::chrono::duration<double>(quiet)) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    // The next line of its stdout (without the newline); "" at the end or after `seconds`.
    std::string line(double seconds = 30) {
        const auto until = after(seconds);
        for (;;) {
            const auto nl = buffered_.find('\n');
            if (nl != std::string::npos) {
                std::string l = buffered_.substr(0, nl);
                out_text_ += buffered_.substr(0, nl + 1);
                buffered_.erase(0, nl + 1);
                return l;
            }
            if (!fill(until)) return "";
        }
    }

    void close_stdin() {
        if (in_ >= 0) close(in_);
        in_ = -1;
    }

    // Sends it `sig` (while it runs).
    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    // Reads its stdout to the end and waits for it to exit (or kills it after `seconds`).
    test::RunResult finish(double seconds = 60) {
        const auto until = after(seconds);
        while (fill(until)) {
        }
        test::RunResult r;
        if (std::chrono::steady_clock::now() >= until) ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
        r.out = out_text_ + buffered_;
        std::ifstream err(err_path_);
        r.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
        return r;
    }

private:
    // Reads what is there (waiting until `until`); false at the end or on timeout.
    bool fill(std::chrono::steady_clock::time_point until) {
        if (out_ < 0) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[65536];
        const ssize_t n = ::read(out_, buf, sizeof buf);
        if (n <= 0) {
            close(out_);
            out_ = -1;
            return false;
        }
        buffered_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    std::string err_path_;
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    std::string buffered_, out_text_;
};

// The most OS threads process `pid` had, looked at every 2 ms from a thread of
// the test from construction to stop() (or destruction).
class TaskSampler {
public:
    explicit TaskSampler(pid_t pid)
        : thread_([this, pid] {
              while (!stop_.load()) {
                  const int n = count_tasks(pid);
                  if (n > max_.load()) max_.store(n);
                  std::this_thread::sleep_for(std::chrono::milliseconds(2));
              }
          }) {}
    ~TaskSampler() { stop(); }
    TaskSampler(const TaskSampler&) = delete;
    TaskSampler& operator=(const TaskSampler&) = delete;

    // The most seen so far (-1: none seen: the process was gone).
    int stop() {
        stop_.store(true);
        if (thread_.joinable()) thread_.join();
        return max_.load();
    }
    int max() const { return max_.load(); }

private:
    std::atomic<bool> stop_{false};
    std::atomic<int> max_{-1};
    std::thread thread_;
};

}  // namespace threads_test
