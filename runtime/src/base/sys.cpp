#include "base/sys.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <system_error>

#include "base/raw_syscall.hpp"

namespace green::detail {

void throw_errno(int error, const std::string& what) { throw std::system_error(error, std::generic_category(), what); }

}  // namespace green::detail

namespace green::detail::sys {
namespace {

// The kernel's result as libc reports it: -1 with errno set.
long raw(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) noexcept {
    const long ret = raw_syscall(nr, a, b, c, d, e, f);
    if (ret < 0 && ret > -4096) {
        errno = static_cast<int>(-ret);
        return -1;
    }
    return ret;
}

template <class... A>
long call(long nr, A... args) noexcept {
    return raw(nr, (long)args...);
}

}  // namespace

int socket(int domain, int type, int protocol) noexcept { return (int)call(SYS_socket, domain, type, protocol); }
int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
    return (int)call(SYS_socketpair, domain, type, protocol, sv);
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept { return (int)call(SYS_connect, fd, addr, len); }
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
    return (int)call(SYS_accept4, fd, addr, len, flags);
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept { return (int)call(SYS_bind, fd, addr, len); }
int listen(int fd, int backlog) noexcept { return (int)call(SYS_listen, fd, backlog); }
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
    return call(SYS_recvfrom, fd, buf, len, flags, from, fromlen);
}
ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept {
    return call(SYS_sendto, fd, buf, len, flags, to, tolen);
}
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept { return call(SYS_recvmsg, fd, msg, flags); }
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept { return call(SYS_sendmsg, fd, msg, flags); }
ssize_t read(int fd, void* buf, size_t len) noexcept { return call(SYS_read, fd, buf, len); }
ssize_t write(int fd, const void* buf, size_t len) noexcept { return call(SYS_write, fd, buf, len); }
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept { return call(SYS_writev, fd, iov, iovcnt); }
int shutdown(int fd, int how) noexcept { return (int)call(SYS_shutdown, fd, how); }
int close(int fd) noexcept { return (int)call(SYS_close, fd); }
pid_t waitpid(pid_t pid, int* status, int options) noexcept {
    return (pid_t)call(SYS_wait4, pid, status, options, nullptr);
}
int pidfd_open(pid_t pid) noexcept { return (int)call(SYS_pidfd_open, pid, 0); }
int pipe2(int fds[2], int flags) noexcept { return (int)call(SYS_pipe2, fds, flags); }
int eventfd(unsigned initial, int flags) noexcept { return (int)call(SYS_eventfd2, initial, flags); }
int open(const char* path, int flags) noexcept { return (int)call(SYS_openat, AT_FDCWD, path, flags, 0); }
// The kernel's sigset_t is 8 bytes (_NSIG / 8), not glibc's 128.
int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept {
    return (int)call(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}
int sigpending(sigset_t* set) noexcept { return (int)call(SYS_rt_sigpending, set, _NSIG / 8); }
int take_pending_signal(const sigset_t* set) noexcept {
    const timespec zero{};
    return (int)call(SYS_rt_sigtimedwait, set, nullptr, &zero, _NSIG / 8);
}
int fcntl(int fd, int cmd, long arg) noexcept { return (int)call(SYS_fcntl, fd, cmd, arg); }
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
    return (int)call(SYS_getsockopt, fd, level, name, value, len);
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
    return (int)call(SYS_setsockopt, fd, level, name, value, len);
}
int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept { return (int)call(SYS_getsockname, fd, addr, len); }
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept { return (int)call(SYS_getpeername, fd, addr, len); }

int futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* deadline) noexcept {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    return (int)call(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
}

int futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept {
    return (int)call(SYS_futex, word, FUTEX_WAKE_PRIVATE, count);
}

long futex(void* word, int op, std::uint32_t value, const void* timeout, void* word2, std::uint32_t value3) noexcept {
    return call(SYS_futex, word, op, value, timeout, word2, value3);
}

bool barrier_on_every_thread() noexcept {
    if (call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return true;
    if (errno != EPERM || call(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) return false;
    return call(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

pid_t gettid() noexcept { return (pid_t)call(SYS_gettid); }
void yield() noexcept { call(SYS_sched_yield); }

long thread_count() noexcept {
    const int fd = (int)call(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[1024];
    const long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    // "pid (comm) state ppid ...": fields after the last ')' ; num_threads is field 20.
    const char* p = nullptr;
    for (long i = n - 1; i >= 0; --i)
        if (buf[i] == ')') {
            p = buf + i + 1;
            break;
        }
    if (!p) return -1;
    for (int field = 2; field < 20 && *p; ++p)
        if (*p == ' ') ++field;
    long count = 0;
    while (*p >= '0' && *p <= '9') count = count * 10 + (*p++ - '0');
    return count > 0 ? count : -1;
}

int tgkill(pid_t pid, pid_t tid, int sig) noexcept { return (int)call(SYS_tgkill, pid, tid, sig); }

}  // namespace green::detail::sys
