// System calls made by the runtime itself. They go straight to the kernel with
// the system call instruction, never through libc's symbols (not even
// syscall(), which the shim interposes for futex waits), so that when the
// LD_PRELOAD shim interposes those symbols, the runtime's own I/O can never
// re-enter a hook. Each returns what the kernel returned: -1 with errno set.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <sys/types.h>
#include <sys/uio.h>

#include <string>

#include "green/detail/config.hpp"

namespace green::detail {

// The one way the runtime reports an OS error: std::system_error carrying the
// errno value in std::generic_category() (the shim turns it back into errno).
[[noreturn]] GREEN_API void throw_errno(int error, const std::string& what);

}  // namespace green::detail

namespace green::detail::sys {

int socket(int domain, int type, int protocol) noexcept;
int socketpair(int domain, int type, int protocol, int sv[2]) noexcept;
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept;
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept;
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int listen(int fd, int backlog) noexcept;
// (Exported for libgreen_tls, whose BIO reads and writes with these two.)
GREEN_API ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept;
GREEN_API ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept;
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept;
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept;
ssize_t read(int fd, void* buf, size_t len) noexcept;
ssize_t write(int fd, const void* buf, size_t len) noexcept;
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept;
int shutdown(int fd, int how) noexcept;
int close(int fd) noexcept;
pid_t waitpid(pid_t pid, int* status, int options) noexcept;
int pidfd_open(pid_t pid) noexcept;
int pipe2(int fds[2], int flags) noexcept;
int eventfd(unsigned initial, int flags) noexcept;
int open(const char* path, int flags) noexcept;
// The calling OS thread's signal mask (rt_sigprocmask), and a pending signal of
// `set` taken without waiting (rt_sigtimedwait with a zero timeout).
int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept;
int sigpending(sigset_t* set) noexcept;
int take_pending_signal(const sigset_t* set) noexcept;
int fcntl(int fd, int cmd, long arg = 0) noexcept;
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept;
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept;
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept;

// Waits while *word == expected, until woken or `deadline` (absolute
// CLOCK_MONOTONIC; null: none) passes (-1, ETIMEDOUT). Process-private.
int futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* deadline) noexcept;
// Wakes up to `count` threads waiting on `word`; returns how many.
int futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept;
// futex(2) with all its arguments, for the shim's syscall(SYS_futex) hook.
long futex(void* word, int op, std::uint32_t value, const void* timeout, void* word2, std::uint32_t value3) noexcept;
pid_t gettid() noexcept;
// Makes every running thread of the process pass a full memory barrier
// (membarrier(2), private expedited; registered on first use): false where
// the kernel cannot.
bool barrier_on_every_thread() noexcept;
// sched_yield(2), out of the shim's reach.
void yield() noexcept;
// Threads in this process now (/proc/self/stat), or -1 if it cannot be read.
long thread_count() noexcept;
int tgkill(pid_t pid, pid_t tid, int sig) noexcept;

}  // namespace green::detail::sys
