// The one loop behind every blocking I/O call of the runtime (and of the shim):
// try the non-blocking call; on EAGAIN park until the fd is ready or the
// deadline passes; retry.
#pragma once

#include <cerrno>
#include <chrono>

#include "core/fd_table.hpp"
#include "core/hub.hpp"

namespace green::detail {

// An absolute deadline on the steady clock, or none.
class Deadline {
public:
    // `seconds` from now; kForever for none; 0 for "do not wait at all".
    static Deadline after(double seconds) noexcept {
        Deadline d;
        if (seconds == kForever) return d;
        d.at_ = seconds <= 0 ? 0 : now() + seconds;
        return d;
    }
    bool never_wait() const noexcept { return at_ == 0; }
    // Seconds left (0 once passed), kForever without a deadline.
    double remaining() const noexcept {
        if (at_ == kForever) return kForever;
        const double left = at_ - now();
        return left > 0 ? left : 0;
    }

private:
    static double now() noexcept {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
    double at_ = kForever;
};

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
