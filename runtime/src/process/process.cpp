#include "green/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/sys.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "process/child_wait.hpp"

namespace green {

pid_t fork() {
    detail::Hub::current();  // the atfork handler that re-initialises the child is registered with the hub
    const pid_t pid = ::fork();
    if (pid < 0) detail::throw_errno(errno, "green::fork");
    return pid;
}

void detail::wait_for_child(pid_t pid, ChildWait& wait) {
    Hub& hub = Hub::current();
    if (wait.round++ == 0) {
        give_child_the_cpu();
        return;
    }
    const double pause = std::min(0.001 * double(1u << std::min(wait.round - 1, 6u)), 0.05);
    if (pid > 0 && !wait.pidfd_failed) {
        const int pidfd = make_runtime_fd([pid] { return sys::pidfd_open(pid); });
        if (pidfd >= 0) {
            const WakeReason why = hub.wait_held_fd(pidfd, pause, "waitpid");
            // Woken by the pidfd (or a signal handler): if the next look finds
            // nothing, the pidfd cannot be trusted for this child. One a
            // program's dup2 took (closed) is made again at the next look.
            wait.pidfd_failed = why == WakeReason::woken;
            return;
        }
        if (errno == ESRCH) return;  // already reaped, or never ours: waitpid says which
    }
    hub.park(&hub.interruptible(), pause, "waitpid", nullptr);
}

void detail::give_child_the_cpu() noexcept {
    if (Hub::current().ready_count() == 0) sys::yield();
}

pid_t waitpid(pid_t pid, int* status, int options) {
    detail::ChildWait wait;
    for (;;) {
        const pid_t r = detail::sys::waitpid(pid, status, options | WNOHANG);
        if (r < 0) detail::throw_errno(errno, "green::waitpid");
        if (r > 0 || (options & WNOHANG)) return r;
        detail::wait_for_child(pid, wait);
    }
}

}  // namespace green
