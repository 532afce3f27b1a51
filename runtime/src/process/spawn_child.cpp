#include "process/spawn_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "base/sys.hpp"

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
std::string search_path(const PopenOptions& options) {
    if (options.env) {
        for (const std::string& e : *options.env)
            if (e.starts_with("PATH=")) return e.substr(5);
    } else if (const char* path = std::getenv("PATH")) {
        return path;
    }
    return "/bin:/usr/bin";  // what execvp searches without a PATH (confstr's _CS_PATH)
}

// execvp's search, done here so that posix_spawn gets one path and the error of
// the best candidate: the first executable file in PATH, else EACCES if one
// existed but could not be run, else ENOENT. A relative candidate is checked
// where the child will look for it, in its working directory.
std::string find_program(const std::string& name, const PopenOptions& options) {
    if (name.find('/') != std::string::npos) return name;
    int error = ENOENT;
    if (!name.empty()) {
        const std::string path = search_path(options);
        for (std::size_t start = 0; start <= path.size();) {
            std::size_t end = path.find(':', start);
            if (end == std::string::npos) end = path.size();
            const std::string dir = path.substr(start, end - start);
            start = end + 1;
            const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
            const std::string seen_as =
                candidate.front() != '/' && !options.cwd.empty() ? options.cwd + "/" + candidate : candidate;
            struct stat st {};
            if (::stat(seen_as.c_str(), &st) != 0) continue;
            if (S_ISREG(st.st_mode) && ::faccessat(AT_FDCWD, seen_as.c_str(), X_OK, AT_EACCESS) == 0) return candidate;
            error = EACCES;
        }
    }
    throw_errno(error, "green::Popen: cannot run " + name);
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

// posix_spawn's file actions and attributes, destroyed with the object.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    SpawnSetup() {
        if (int e = posix_spawn_file_actions_init(&actions)) throw_errno(e, "green::Popen: posix_spawn_file_actions_init");
        if (int e = posix_spawnattr_init(&attr)) {
            posix_spawn_file_actions_destroy(&actions);
            throw_errno(e, "green::Popen: posix_spawnattr_init");
        }
    }
    ~SpawnSetup() {
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    void dup2(int from, int to) {
        if (int e = posix_spawn_file_actions_adddup2(&actions, from, to)) throw_errno(e, "green::Popen: file actions");
    }
    void close(int fd) {
        if (int e = posix_spawn_file_actions_addclose(&actions, fd)) throw_errno(e, "green::Popen: file actions");
    }
    void close_from(int fd) {
        if (int e = posix_spawn_file_actions_addclosefrom_np(&actions, fd)) throw_errno(e, "green::Popen: file actions");
    }
};

// The child's descriptors beyond 0, 1 and 2, done after the dup2s onto those:
// each of pass_fds is dup2'd onto itself, which posix_spawn takes to mean
// "clear its close-on-exec flag" (a bad one fails the spawn with EBADF); under
// close_fds every other descriptor is closed: those between the passed ones
// that are open here one by one, the rest at once (close_range in the child).
void arrange_descriptors(SpawnSetup& setup, const PopenOptions& options) {
    std::vector<int> passed;
    for (const int fd : options.pass_fds)
        if (fd > 2) passed.push_back(fd);
    std::sort(passed.begin(), passed.end());
    passed.erase(std::unique(passed.begin(), passed.end()), passed.end());
    for (const int fd : passed) setup.dup2(fd, fd);
    if (!options.close_fds) return;
    int next = 3;
    for (const int fd : passed) {
        for (; next < fd; ++next)
            if (sys::fcntl(next, F_GETFD) >= 0) setup.close(next);
        next = fd + 1;
    }
    setup.close_from(next);
}

}  // namespace

SpawnedChild spawn_child(const std::vector<std::string>& argv, const PopenOptions& options) {
    check_arguments(argv, options);
    check_cwd(options.cwd);
    // Before any descriptor is made here, which could take a closed one's number.
    for (const int fd : options.pass_fds)
        if (sys::fcntl(fd, F_GETFD) < 0) throw_errno(EBADF, "green::Popen: pass_fds: descriptor " + std::to_string(fd));
    // Without an environment of its own the child searches this process's PATH
    // itself, as posix_spawnp's does (one execve per candidate, in the child);
    // the search here is for a PATH that only the new environment names.
    const bool child_searches = !options.env && argv[0].find('/') == std::string::npos;
    const std::string program = child_searches ? argv[0] : find_program(argv[0], options);

    SpawnSetup setup;
    Pipe in, out, err;
    OwnedFd devnull;
    if (options.in == Stdio::devnull || options.out == Stdio::devnull || options.err == Stdio::devnull) {
        devnull = OwnedFd(sys::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (devnull.fd < 0) throw_errno(errno, "green::Popen: /dev/null");
        devnull = above_stdio(std::move(devnull));
    }
    // dup2 onto the target clears its close-on-exec flag; every other
    // descriptor made here stays close-on-exec and vanishes at the exec.
    if (options.in == Stdio::pipe) {
        in = make_pipe();
        setup.dup2(in.read.fd, 0);
    } else if (options.in == Stdio::devnull) {
        setup.dup2(devnull.fd, 0);
    }
    if (options.out == Stdio::pipe) {
        out = make_pipe();
        setup.dup2(out.write.fd, 1);
    } else if (options.out == Stdio::devnull) {
        setup.dup2(devnull.fd, 1);
    }
    if (options.err == Stdio::pipe) {
        err = make_pipe();
        setup.dup2(err.write.fd, 2);
    } else if (options.err == Stdio::devnull) {
        setup.dup2(devnull.fd, 2);
    } else if (options.err == Stdio::to_stdout) {
        setup.dup2(1, 2);
    }
    arrange_descriptors(setup, options);
    if (!options.cwd.empty())
        if (int e = posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd.c_str()))
            throw_errno(e, "green::Popen: file actions");

    // The child starts as a new program expects: nothing blocked (the runtime
    // may block signals in this thread) and SIGPIPE, SIGXFSZ at their defaults
    // even if this process ignores them (Python's restore_signals).
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGXFSZ);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);
    posix_spawnattr_setflags(&setup.attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                             (options.start_new_session ? POSIX_SPAWN_SETSID : 0)));

    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    if (options.env) {
        for (const std::string& e : *options.env) env.push_back(const_cast<char*>(e.c_str()));
        env.push_back(nullptr);
    }

    // Our ends only (each end of a pipe has a file description of its own).
    for (const OwnedFd* mine : {&in.write, &out.read, &err.read})
        if (mine->fd >= 0) make_nonblocking(mine->fd);

    SpawnedChild child;
    const auto spawn = child_searches ? posix_spawnp : posix_spawn;
    if (int e = spawn(&child.pid, program.c_str(), &setup.actions, &setup.attr, args.data(),
                      options.env ? env.data() : environ))
        throw_errno(e, "green::Popen: cannot run " + argv[0]);
    // The child's ends close on leaving.
    child.in = in.write.release();
    child.out = out.read.release();
    child.err = err.read.release();
    return child;
}

}  // namespace green::detail
