// Waiting on raw file descriptors (gevent.socket.wait_read / wait_write).
#pragma once

#include <chrono>

#include "green/detail/config.hpp"
#include "green/detail/time.hpp"

namespace green {

namespace detail {
GREEN_API bool wait_fd(int fd, bool for_write, double timeout);
}

// Waits until `fd` is readable (writable); false when `timeout` runs out first.
// May switch. Throws std::system_error(EBADF) if `fd` is not an open descriptor,
// or if it is closed through green::close or Socket::close while waiting. A kill or an expired Timeout throws
// here; must not be called from the hub. The fd should be non-blocking.
inline bool wait_readable(int fd) { return detail::wait_fd(fd, false, detail::kForever); }
template <class Rep, class Period>
bool wait_readable(int fd, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_fd(fd, false, detail::to_seconds(timeout));
}
inline bool wait_writable(int fd) { return detail::wait_fd(fd, true, detail::kForever); }
template <class Rep, class Period>
bool wait_writable(int fd, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_fd(fd, true, detail::to_seconds(timeout));
}

// Closes `fd`, first waking every greenlet of this thread that waits on it with
// EBADF. Throws std::system_error if close(2) fails.
GREEN_API void close(int fd);

}  // namespace green
