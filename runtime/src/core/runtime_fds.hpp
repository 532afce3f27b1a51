// Descriptors the runtime opened for itself: each loop's epoll and eventfd, the
// DNS resolver's sockets, pidfds. The program never opened them, so the
// LD_PRELOAD shim keeps a program's close / close_range from closing them under
// the hub.
//
// c-ares sockets and pidfds are marked where they are opened. libev opens its
// descriptors itself, through libc: the loop marks the scope of each libev call
// that may open one (RuntimeScope), and the shim's epoll_create1 / eventfd /
// pipe2 hooks mark what they create inside such a scope.
//
// The registry is a bitmap in pages allocated on first use and never freed, so
// reading it takes no lock and is async-signal-safe: every close() of the
// program asks it.
#pragma once

#include <vector>

namespace green::detail {

void mark_runtime_fd(int fd) noexcept;
void unmark_runtime_fd(int fd) noexcept;
bool is_runtime_fd(int fd) noexcept;
// The marked descriptors from `first` to `last`, in order.
std::vector<int> runtime_fds_between(unsigned first, unsigned last);

// While one exists on a thread, the runtime is calling libc for itself there:
// descriptors the shim sees opened belong to the runtime (libev's), threads
// created are plain OS threads even under thread patching (the monitor, the
// thread pool's workers), and signal handlers installed are not wrapped.
class RuntimeScope {
public:
    RuntimeScope() noexcept;
    ~RuntimeScope();
    RuntimeScope(const RuntimeScope&) = delete;
    RuntimeScope& operator=(const RuntimeScope&) = delete;
    static bool active() noexcept;
};

}  // namespace green::detail
