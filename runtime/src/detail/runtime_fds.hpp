// Descriptors the runtime opened for itself: each loop's epoll and eventfd, and
// the DNS resolver's sockets. The program never opened them, so the LD_PRELOAD
// shim keeps a program's close / close_range from closing them under the hub.
//
// c-ares sockets are marked by the resolver glue. libev opens its descriptors
// itself, through libc: the loop marks the scope of each libev call that may open
// one (RuntimeFdScope), and the shim's epoll_create1 / eventfd / pipe2 hooks mark
// what they create inside such a scope.
#pragma once

#include <vector>

#include "green/detail/config.hpp"

namespace green::detail {

GREEN_API void mark_runtime_fd(int fd) noexcept;
GREEN_API void unmark_runtime_fd(int fd) noexcept;
GREEN_API bool is_runtime_fd(int fd) noexcept;
// The marked descriptors from `first` to `last`, in order.
GREEN_API std::vector<int> runtime_fds_between(unsigned first, unsigned last);

// While one exists on a thread, descriptors the shim sees libev open on that
// thread belong to the runtime.
class GREEN_API RuntimeFdScope {
public:
    RuntimeFdScope() noexcept;
    ~RuntimeFdScope();
    RuntimeFdScope(const RuntimeFdScope&) = delete;
    RuntimeFdScope& operator=(const RuntimeFdScope&) = delete;
    static bool active() noexcept;
};

}  // namespace green::detail
