#include "green/io.hpp"

#include <cerrno>

#include "base/sys.hpp"
#include "core/hub.hpp"

namespace green {

bool detail::wait_fd(int fd, bool for_write, double timeout) {
    return Hub::current().fds().wait(fd, for_write ? Interest::write : Interest::read, timeout,
                                     for_write ? "wait_writable" : "wait_readable");
}

void close(int fd) {
    if (detail::Hub* hub = detail::Hub::current_if_any()) hub->fds().forget(fd);
    if (detail::sys::close(fd) != 0 && errno != EINTR)  // after EINTR the fd is gone on Linux
        detail::throw_errno(errno, "close");
}

}  // namespace green
