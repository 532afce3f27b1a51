#include "process/spawn_child.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "base/sys.hpp"
#include "process/child_exec.hpp"

extern char** environ;

namespace green::detail {
namespace {

// A descriptor closed when it goes out of scope, unless released.
struct OwnedFd {
    int fd = -1;
    OwnedFd() = default;
    explicit OwnedFd(int f) : fd(f) {}
    OwnedFd(OwnedFd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    OwnedFd& operator=(OwnedFd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~OwnedFd() {
        if (fd >= 0) sys::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

void check_arguments(const std::vector<std::string>& argv, const PopenOptions& options) {
    if (argv.empty()) throw std::invalid_argument("green::Popen: argv is empty");
    for (const std::string& a : argv)
        if (has_nul(a)) throw std::invalid_argument("green::Popen: an argument contains a NUL byte");
    if (options.env)
        for (const std::string& e : *options.env)
            if (has_nul(e) || e.find('=') == std::string::npos || e.front() == '=')
                throw std::invalid_argument("green::Popen: env entries are NAME=value without NUL bytes");
    if (has_nul(options.cwd)) throw std::invalid_argument("green::Popen: cwd contains a NUL byte");
    if (options.in == Stdio::to_stdout || options.out == Stdio::to_stdout)
        throw std::invalid_argument("green::Popen: only stderr can go to stdout");
    for (const int fd : options.pass_fds)
        if (fd < 0) throw std::invalid_argument("green::Popen: a negative descriptor in pass_fds");
}

// The child's PATH: from its own environment when one is given.
std::string_view search_path(const PopenOptions& options) {
    if (options.env) {
        for (const std::string& e : *options.env)
            if (e.starts_with("PATH=")) return std::string_view(e).substr(5);
    } else if (const char* path = std::getenv("PATH")) {
        return path;
    }
    return "/bin:/usr/bin";  // what execvp searches without a PATH (confstr's _CS_PATH)
}

// execvp's candidates for `name`, one after another, each ended by a NUL: the
// name itself if it contains a slash, else the name in each PATH directory in
// order (an empty entry is the working directory). The child tries them with
// execvp's rules.
std::string candidates_for(const std::string& name, const PopenOptions& options) {
    if (name.empty()) throw_errno(ENOENT, "green::Popen: cannot run an empty program name");
    if (name.find('/') != std::string::npos) return name + '\0';
    const std::string_view path = search_path(options);
    std::string candidates;
    candidates.reserve(path.size() + (name.size() + 3) * (std::count(path.begin(), path.end(), ':') + 1));
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t end = path.find(':', start);
        if (end == std::string_view::npos) end = path.size();
        candidates.append(end == start ? std::string_view(".") : path.substr(start, end - start));
        candidates.append(1, '/').append(name).append(1, '\0');
        start = end + 1;
    }
    return candidates;
}

void check_cwd(const std::string& cwd) {
    if (cwd.empty()) return;
    struct stat st {};
    if (::stat(cwd.c_str(), &st) != 0) throw_errno(errno, "green::Popen: working directory " + cwd);
    if (!S_ISDIR(st.st_mode)) throw_errno(ENOTDIR, "green::Popen: working directory " + cwd);
}

// Moves `fd` above the standard descriptors, so that a dup2 onto 0, 1 or 2 in
// the child never overwrites another of the child's sources (this process may
// run with one of them closed).
OwnedFd above_stdio(OwnedFd fd) {
    if (fd.fd > 2) return fd;
    const int moved = sys::fcntl(fd.fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) throw_errno(errno, "green::Popen: fcntl");
    return OwnedFd(moved);
}

struct Pipe {
    OwnedFd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (sys::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "green::Popen: pipe");
    Pipe p{OwnedFd(fds[0]), OwnedFd(fds[1])};
    p.read = above_stdio(std::move(p.read));
    p.write = above_stdio(std::move(p.write));
    return p;
}

// `fd` is a new pipe end: O_NONBLOCK is the only status flag it will have.
void make_nonblocking(int fd) {
    if (sys::fcntl(fd, F_SETFL, O_NONBLOCK) < 0) throw_errno(errno, "green::Popen: fcntl");
}

// The child's descriptors beyond 0, 1 and 2, after the dups onto those: each
// of pass_fds loses its close-on-exec flag (a bad one fails the start with
// EBADF); under close_fds every other descriptor is closed: those between the
// passed ones that are open here one by one, the rest at once (close_range).
void arrange_descriptors(std::vector<ChildFdStep>& steps, const PopenOptions& options) {
    std::vector<int> passed;
    for (const int fd : options.pass_fds)
        if (fd > 2) passed.push_back(fd);
    std::sort(passed.begin(), passed.end());
    passed.erase(std::unique(passed.begin(), passed.end()), passed.end());
    for (const int fd : passed) steps.push_back({ChildFdStep::keep_open, fd});
    if (!options.close_fds) return;
    int next = 3;
    for (const int fd : passed) {
        for (; next < fd; ++next)
            if (sys::fcntl(next, F_GETFD) >= 0) steps.push_back({ChildFdStep::close, next});
        next = fd + 1;
    }
    steps.push_back({ChildFdStep::close_from, next});
}

}  // namespace

SpawnedChild spawn_child(const std::vector<std::string>& argv, const PopenOptions& options) {
    check_arguments(argv, options);
    check_cwd(options.cwd);
    // Before any descriptor is made here, which could take a closed one's number.
    for (const int fd : options.pass_fds)
        if (sys::fcntl(fd, F_GETFD) < 0) throw_errno(EBADF, "green::Popen: pass_fds: descriptor " + std::to_string(fd));
    const std::string candidates = candidates_for(argv[0], options);

    ChildPlan plan;
    Pipe in, out, err;
    OwnedFd devnull;
    if (options.in == Stdio::devnull || options.out == Stdio::devnull || options.err == Stdio::devnull) {
        devnull = OwnedFd(sys::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (devnull.fd < 0) throw_errno(errno, "green::Popen: /dev/null");
        devnull = above_stdio(std::move(devnull));
    }
    // A dup onto the target clears its close-on-exec flag; every other
    // descriptor made here stays close-on-exec and vanishes at the exec.
    const auto dup = [&](int fd, int target) { plan.fd_steps.push_back({ChildFdStep::dup, fd, target}); };
    if (options.in == Stdio::pipe) {
        in = make_pipe();
        dup(in.read.fd, 0);
    } else if (options.in == Stdio::devnull) {
        dup(devnull.fd, 0);
    }
    if (options.out == Stdio::pipe) {
        out = make_pipe();
        dup(out.write.fd, 1);
    } else if (options.out == Stdio::devnull) {
        dup(devnull.fd, 1);
    }
    if (options.err == Stdio::pipe) {
        err = make_pipe();
        dup(err.write.fd, 2);
    } else if (options.err == Stdio::devnull) {
        dup(devnull.fd, 2);
    } else if (options.err == Stdio::to_stdout) {
        dup(1, 2);
    }
    arrange_descriptors(plan.fd_steps, options);
    plan.new_session = options.start_new_session;
    if (!options.cwd.empty()) plan.cwd = options.cwd.c_str();

    for (std::size_t at = 0; at < candidates.size(); at = candidates.find('\0', at) + 1)
        plan.candidates.push_back(candidates.c_str() + at);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    plan.argv = args.data();
    std::vector<char*> env;
    if (options.env) {
        for (const std::string& e : *options.env) env.push_back(const_cast<char*>(e.c_str()));
        env.push_back(nullptr);
    }
    plan.envp = options.env ? env.data() : environ;

    // Our ends only (each end of a pipe has a file description of its own).
    for (const OwnedFd* mine : {&in.write, &out.read, &err.read})
        if (mine->fd >= 0) make_nonblocking(mine->fd);

    SpawnedChild child;
    child.pid = start_child(plan);
    if (child.pid < 0) throw_errno(errno, "green::Popen: cannot run " + argv[0]);
    // The child's ends close on leaving.
    child.in = in.write.release();
    child.out = out.read.release();
    child.err = err.read.release();
    return child;
}

}  // namespace green::detail
