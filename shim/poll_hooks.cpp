// poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2 and the
// fortified __poll_chk / __ppoll_chk.
//
// Each asks the real call with a zero timeout, so what it reports (duplicate and
// negative fds, POLLNVAL, EBADF, the count) is exactly the kernel's, and bad
// arguments (EINVAL, EFAULT: arrays, sets, signal masks) are refused by the
// kernel before the hook reads them; between asks the greenlet parks on all the
// descriptors at once. A program's own epoll
// descriptor is itself waited on like any other. These calls are never restarted
// after a signal handler: they fail with EINTR (signal(7)). A signal mask given
// to ppoll / pselect / epoll_pwait is in force while the greenlet is parked.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "cooperate.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

extern "C" [[noreturn]] void __chk_fail(void);

namespace shim {
namespace {

namespace api = green::detail::shim_api;
using green::detail::to_seconds;

// A timeout argument: null (or a negative count of milliseconds) waits forever.
double seconds(const timespec* t) { return t ? to_seconds(*t) : kForever; }
double seconds_ms(int ms) { return ms < 0 ? kForever : ms / 1000.0; }

// Asks `check(0)` (the real call with a zero timeout) until it reports something
// or `timeout` seconds pass, parking on the descriptors `interests()` lists in
// between. Returns check's result, 0 on timeout, or -1 with errno (EINTR after a
// signal handler). The list is made after the first check, so the kernel refuses
// bad arguments (EINVAL, EFAULT) before the hook reads them.
//
// A descriptor that turns out not to be open ends the wait. poll and epoll_wait
// report it themselves at the next check. select does too on Linux (EBADF), but
// some kernels (gVisor) report nothing and wait out the timeout: with
// `kernel_decides_bad_fds` the real call then runs with the time left, blocking
// the thread, so that a program sees exactly what its kernel does.
template <class Interests, class Check>
int multiplex(Interests&& interests, double timeout, const sigset_t* mask, bool kernel_decides_bad_fds,
              Check&& check) noexcept {
    const Deadline deadline = Deadline::after(timeout);
    const SignalCheck signals(Restart::never);
    std::vector<api::FdInterest> fds;
    for (bool found_closed = false, listed = false;;) {
        const int r = check(0.0);
        if (r != 0) return listed ? r : without_waiting(r);
        const double left = deadline.remaining();
        if (left == 0) return 0;
        // After the descriptors, as the kernel does: ready ones win over a signal.
        if (signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
        if (found_closed && kernel_decides_bad_fds) {
            MaskScope scope(mask);
            return check(left);
        }
        {
            MaskScope scope(mask);
            try {
                if (!listed) {
                    fds = interests();
                    listed = true;
                }
                found_closed = api::wait_fds(fds.data(), fds.size(), left) == api::Woke::closed;
            } catch (...) {
                return at_boundary(std::current_exception());
            }
        }
    }
}

std::vector<api::FdInterest> interests(const pollfd* fds, nfds_t n) {
    std::vector<api::FdInterest> out;
    out.reserve(n);
    for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].fd < 0) continue;
        const short e = fds[i].events;
        const bool read = e & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP);
        const bool write = e & (POLLOUT | POLLWRNORM | POLLWRBAND);
        if (read || !write) out.push_back({fds[i].fd, false});  // errors and hang-ups wake readers
        if (write) out.push_back({fds[i].fd, true});
    }
    return out;
}

int poll_like(pollfd* fds, nfds_t n, double timeout, const sigset_t* mask) noexcept {
    static constexpr timespec zero{};
    return multiplex([&] { return interests(fds, n); }, timeout, mask, false, [&](double) {
        return mask ? real::ppoll(fds, n, &zero, mask) : real::poll(fds, n, 0);
    });
}

std::vector<api::FdInterest> interests(int n, const fd_set* r, const fd_set* w, const fd_set* e) {
    std::vector<api::FdInterest> out;
    for (int fd = 0; fd < n; ++fd) {
        if ((r && FD_ISSET(fd, r)) || (e && FD_ISSET(fd, e))) out.push_back({fd, false});
        if (w && FD_ISSET(fd, w)) out.push_back({fd, true});
    }
    return out;
}

// Copies the first `bytes` of the program's set at `from` through the kernel
// (process_vm_readv), so that a bad address is EFAULT, as select says, not a
// crash in the hook. Where that call is not allowed (a seccomp filter), copies.
bool copy_set(fd_set& to, const fd_set* from, std::size_t bytes) noexcept {
    iovec local{&to, bytes}, remote{const_cast<fd_set*>(from), bytes};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(bytes)) return true;
    if (errno == EFAULT) return false;
    std::memcpy(&to, from, bytes);
    return true;
}

// select and pselect: the sets are inputs and outputs; on timeout they come back
// empty. Of each set only the kernel's part is read and written: n bits, in
// whole longs.
int select_like(int n, fd_set* r, fd_set* w, fd_set* e, double timeout, const sigset_t* mask) noexcept {
    const std::size_t bytes = (static_cast<std::size_t>(n) + 63) / 64 * 8;
    fd_set in_r{}, in_w{}, in_e{};
    if ((r && !copy_set(in_r, r, bytes)) || (w && !copy_set(in_w, w, bytes)) || (e && !copy_set(in_e, e, bytes))) {
        errno = EFAULT;
        return -1;
    }
    const auto listed = [&] { return interests(n, r ? &in_r : nullptr, w ? &in_w : nullptr, e ? &in_e : nullptr); };
    bool first = true;  // the sets still hold the inputs, and may not be writable: the kernel says
    return multiplex(listed, timeout, mask, true, [&](double wait) {
        if (!first) {
            if (r) std::memcpy(r, &in_r, bytes);
            if (w) std::memcpy(w, &in_w, bytes);
            if (e) std::memcpy(e, &in_e, bytes);
        }
        first = false;
        const timespec ts = green::detail::to_timespec(wait);
        return real::pselect(n, r, w, e, wait == kForever ? nullptr : &ts, mask);
    });
}

int epoll_like(int epfd, epoll_event* events, int max, double timeout, const sigset_t* mask) noexcept {
    const auto self = [epfd] {  // an epoll set is readable when it has events
        return std::vector<api::FdInterest>{{epfd, false}};
    };
    return multiplex(self, timeout, mask, false, [&](double) {
        return mask ? real::epoll_pwait(epfd, events, max, 0, mask) : real::epoll_wait(epfd, events, max, 0);
    });
}

}  // namespace
}  // namespace shim

using shim::may_park;

GREEN_HOOK int poll(pollfd* fds, nfds_t n, int timeout) {
    if (timeout == 0) return shim::at_once([&] { return shim::real::poll(fds, n, timeout); });
    if (!may_park()) return shim::real::poll(fds, n, timeout);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::poll_like(fds, n, shim::seconds_ms(timeout), nullptr);
    });
}

GREEN_HOOK int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
    if (fdslen / sizeof(*fds) < n) __chk_fail();
    return poll(fds, n, timeout);
}

GREEN_HOOK int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* mask) {
    if (timeout && shim::valid_or_none(timeout) && shim::seconds(timeout) == 0)
        return shim::at_once([&] { return shim::real::ppoll(fds, n, timeout, mask); });
    if (!shim::valid_or_none(timeout) || !may_park()) return shim::real::ppoll(fds, n, timeout, mask);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::poll_like(fds, n, shim::seconds(timeout), mask);
    });
}

GREEN_HOOK int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* mask, size_t fdslen) {
    if (fdslen / sizeof(*fds) < n) __chk_fail();
    return ppoll(fds, n, timeout, mask);
}

GREEN_HOOK int select(int n, fd_set* __restrict r, fd_set* __restrict w, fd_set* __restrict e,
                      timeval* __restrict timeout) {
    if (timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0)
        return shim::at_once([&] { return shim::real::select(n, r, w, e, timeout); });
    if (n < 0 || n > FD_SETSIZE || (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0)) || !may_park())
        return shim::real::select(n, r, w, e, timeout);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        const double t = timeout ? green::detail::to_seconds(*timeout) : shim::kForever;
        const auto deadline = shim::Deadline::after(t);
        const int result = shim::select_like(n, r, w, e, t, nullptr);
        if (timeout) *timeout = green::detail::to_timeval(result == 0 ? 0 : deadline.remaining());  // Linux reports the time not slept
        return result;
    });
}

GREEN_HOOK int pselect(int n, fd_set* __restrict r, fd_set* __restrict w, fd_set* __restrict e,
                       const timespec* __restrict timeout, const sigset_t* __restrict mask) {
    if (timeout && shim::valid_or_none(timeout) && shim::seconds(timeout) == 0)
        return shim::at_once([&] { return shim::real::pselect(n, r, w, e, timeout, mask); });
    if (n < 0 || n > FD_SETSIZE || !shim::valid_or_none(timeout) || !may_park())
        return shim::real::pselect(n, r, w, e, timeout, mask);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::select_like(n, r, w, e, shim::seconds(timeout), mask);
    });
}

GREEN_HOOK int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
    if (timeout == 0) return shim::at_once([&] { return shim::real::epoll_wait(epfd, events, max, timeout); });
    if (max <= 0 || !may_park()) return shim::real::epoll_wait(epfd, events, max, timeout);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::epoll_like(epfd, events, max, shim::seconds_ms(timeout), nullptr);
    });
}

GREEN_HOOK int epoll_pwait(int epfd, epoll_event* events, int max, int timeout, const sigset_t* mask) {
    if (timeout == 0) return shim::at_once([&] { return shim::real::epoll_pwait(epfd, events, max, timeout, mask); });
    if (max <= 0 || !may_park()) return shim::real::epoll_pwait(epfd, events, max, timeout, mask);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::epoll_like(epfd, events, max, shim::seconds_ms(timeout), mask);
    });
}

GREEN_HOOK int epoll_pwait2(int epfd, epoll_event* events, int max, const timespec* timeout, const sigset_t* mask) {
    if (timeout && shim::valid_or_none(timeout) && shim::seconds(timeout) == 0)
        return shim::at_once([&] { return shim::real::epoll_pwait2(epfd, events, max, timeout, mask); });
    if (!shim::valid_or_none(timeout) || max <= 0 || !may_park())
        return shim::real::epoll_pwait2(epfd, events, max, timeout, mask);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::epoll_like(epfd, events, max, shim::seconds(timeout), mask);
    });
}
