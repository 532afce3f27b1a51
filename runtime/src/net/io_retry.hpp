// The one loop behind every blocking I/O call of green::Socket: try the
// non-blocking call; on EAGAIN park until the fd is ready or the deadline
// passes; retry. (The shim's hooks run their own, shim::cooperate in
// shim/cooperate.hpp: the same steps, with libc's errno, EINTR and O_NONBLOCK
// behaviour instead of exceptions.)
#pragma once

#include <cerrno>

#include "core/fd_table.hpp"
#include "core/hub.hpp"
#include "green/detail/time.hpp"

namespace green::detail {

// Runs `attempt` (a non-blocking system call returning >= 0 or -1 with errno)
// until it succeeds or fails with something other than EAGAIN/EINTR. Returns its
// result, or -1 with errno set: its own errno, EAGAIN when the deadline says not
// to wait, ETIMEDOUT when the deadline passed. Parking may throw (kill, Timeout,
// std::system_error(EBADF) when the fd is closed meanwhile).
template <class Attempt>
long retry_io(int fd, Interest what, Deadline deadline, const char* description, Attempt&& attempt) {
    for (;;) {
        const long r = attempt();
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (deadline.never_wait()) {
            errno = EAGAIN;
            return -1;
        }
        const double left = deadline.remaining();
        if (left == 0 || !Hub::current().fds().wait(fd, what, left, description)) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

}  // namespace green::detail
