#include "support.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace test {
namespace {

// posix_spawn of argv (argv[0] a path) with this process's environment plus `env`.
int spawn(pid_t* pid, const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const posix_spawn_file_actions_t* actions) {
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) envs.emplace_back(*e);
    for (const auto& e : env) envs.push_back(e);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    return posix_spawn(pid, cargv[0], actions, nullptr, cargv.data(), cenv.data());
}

bool skip_called = false;

}  // namespace

void skip(const std::string& why) {
    skip_called = true;
    std::fprintf(stderr, "SKIP: %s\n", why.c_str());
}

bool skipped() { return skip_called; }

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid = -1;
    const int rc = spawn(&pid, argv, env, &fa);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        throw std::runtime_error(std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc));
    }
    RunResult r;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open = 2;
    while (open > 0) {
        if (poll(fds, 2, -1) < 0) continue;
        for (auto& p : fds) {
            if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            const ssize_t n = read(p.fd, buf, sizeof buf);
            if (n > 0) {
                (p.fd == out[0] ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            } else {
                close(p.fd);
                p.fd = -1;
                --open;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}

RunResult run_env(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& input) {
    auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        bool replaced = false;
        for (const auto& change : env)
            replaced = replaced || (change[0] == '-' ? change.substr(1) == name_of(entry) : name_of(change) == name_of(entry));
        if (!replaced) envs.push_back(entry);
    }
    for (const auto& change : env)
        if (change[0] != '-') envs.push_back(change);
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        throw std::runtime_error(std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc));
    }
    // Feed stdin without blocking, so a child that writes before it reads cannot
    // deadlock us; a child that exits without reading must not SIGPIPE us.
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    struct sigaction ignore {}, old_pipe {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe);
    std::size_t fed = 0;
    if (input.empty()) {
        close(in[1]);
        in[1] = -1;
    }
    RunResult r;
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 3, -1) < 0) continue;
        for (int i = 0; i < 2; ++i) {
            pollfd& p = fds[i];
            if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            const ssize_t n = read(p.fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            } else {
                close(p.fd);
                p.fd = -1;
            }
        }
        if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n = write(fds[2].fd, input.data() + fed, input.size() - fed);
            if (n > 0) fed += static_cast<std::size_t>(n);
            if (n < 0 && errno != EAGAIN) fed = input.size();  // the child closed its end
            if (fed == input.size()) {
                close(fds[2].fd);
                fds[2].fd = -1;
            }
        }
    }
    if (fds[2].fd >= 0) close(fds[2].fd);
    sigaction(SIGPIPE, &old_pipe, nullptr);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}

pid_t child_exiting_after(int ms, int code) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::system_category(), "fork");
    if (pid == 0) {
        ::usleep(static_cast<useconds_t>(ms) * 1000);
        _exit(code);
    }
    return pid;
}

int open_fds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++n;
        closedir(d);
        --n;  // the directory stream itself
    }
    return n;
}

int os_threads(pid_t pid) {
    int n = 0;
    if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

int free_port() {
    // A port free for both TCP and UDP (dnsmasq needs both).
    for (int attempt = 0; attempt < 50; ++attempt) {
        int t = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(t, reinterpret_cast<sockaddr*>(&a), &len);
        int u = ::socket(AF_INET, SOCK_DGRAM, 0);
        const bool udp_free = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(u);
        ::close(t);
        if (udp_free) return ntohs(a.sin_port);
    }
    throw std::runtime_error("no free port");
}

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    const int rc = spawn(&pid_, argv, env, nullptr);
    if (rc != 0) throw std::runtime_error(std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc));
}

Process::~Process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

int Process::wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void wait_for_port(int port, double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(s);
        if (up) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

namespace {
std::vector<std::string> dnsmasq_argv(int port, const std::vector<std::string>& records) {
    std::vector<std::string> argv{"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                  "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
                                  "--port=" + std::to_string(port), "--pid-file=", "--local=/test.green/",
                                  "--log-facility=/dev/null"};
    argv.insert(argv.end(), records.begin(), records.end());
    return argv;
}
}  // namespace

Dnsmasq::Dnsmasq(const std::vector<std::string>& records)
    : port_(free_port()), process_(dnsmasq_argv(port_, records)) {
    wait_for_port(port_);  // dnsmasq answers TCP on the same port
}

namespace {

std::vector<std::string> linked_site_argv(int port) {
    const std::string root = temp_path("site");
    ::mkdir(root.c_str(), 0755);
    for (int i = 1; i <= 30; ++i) {
        std::ofstream page(root + "/p" + std::to_string(i) + ".html");
        page << "<html><body>page " << i;
        for (int j : {2 * i, 2 * i + 1})
            if (j <= 30) page << " <a href=\"/p" << j << ".html\">p" << j << "</a>";
        page << "</body></html>";
    }
    return {"/usr/bin/env", "python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", root};
}

}  // namespace

LinkedSite::LinkedSite() : port_(free_port()), process_(linked_site_argv(port_)) { wait_for_port(port_); }

namespace {

// The test process's temporary directory, removed when that process exits (a
// forked child that calls exit leaves it to its parent). Made on first use and
// never destroyed: static initialisers of other files (test fixtures) ask for
// paths before this file's globals would be constructed.
struct TempDir {
    std::filesystem::path path;
    pid_t owner;
};

TempDir& temp_dir() {
    static TempDir* const dir = [] {
        char pattern[] = "/tmp/green-test-XXXXXX";
        const char* d = ::mkdtemp(pattern);
        if (!d) throw std::runtime_error("mkdtemp");
        auto* made = new TempDir{d, ::getpid()};
        std::atexit([] {
            if (::getpid() != temp_dir().owner) return;
            std::error_code ignored;
            std::filesystem::remove_all(temp_dir().path, ignored);
        });
        return made;
    }();
    return *dir;
}

}  // namespace

std::string temp_path(const std::string& name) { return (temp_dir().path / name).string(); }

std::string write_temp_file(const std::string& name, const std::string& content) {
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

std::string first_difference(const std::string& a, const std::string& b, const std::string& b_name) {
    std::istringstream sa(a), sb(b);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ga = static_cast<bool>(std::getline(sa, la)), gb = static_cast<bool>(std::getline(sb, lb));
        if (!ga && !gb) return "(same lines; a difference in the final newline)";
        if (la != lb || ga != gb)
            return "differs at line " + std::to_string(line) + ":\n  plain: " + (ga ? la : "<end>") + "\n  " +
                   b_name + ": " + (gb ? lb : "<end>");
    }
}

}  // namespace test
