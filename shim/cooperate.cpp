#include "cooperate.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <new>
#include <system_error>

#include "fd_facts.hpp"
#include "real.hpp"

namespace shim {

namespace api = green::detail::shim_api;

Failure failure_of(const std::exception_ptr& e) noexcept {
    // A kill, an expired green::Timeout: the C code gets an error it will not
    // retry, and the greenlet gets the exception once it is back in C++.
    if (api::deliver_later(e)) return {ECANCELED, EAI_SYSTEM};
    try {
        std::rethrow_exception(e);
    } catch (const green::dns::Error& x) {
        return {EIO, x.code()};
    } catch (const std::system_error& x) {
        // The runtime throws errno values in std::generic_category() only.
        if (x.code().category() == std::generic_category()) return {x.code().value(), EAI_SYSTEM};
    } catch (const std::bad_alloc&) {
        return {ENOMEM, EAI_MEMORY};
    } catch (...) {
    }
    return {EIO, EAI_SYSTEM};  // an error with no errno of its own
}

int at_boundary(const std::exception_ptr& e) noexcept {
    errno = failure_of(e).error;
    return -1;
}

SignalCheck::SignalCheck(Restart r) noexcept : restart(r), start_(api::signals()) {}

bool SignalCheck::interrupted() const noexcept {
    const auto now = api::signals();
    return restart == Restart::never ? now.all != start_.all : now.interrupting != start_.interrupting;
}

Blocker::Blocker(int fd, bool write, Restart restart, Deadline deadline) noexcept
    : fd_(fd), write_(write), deadline_(deadline), signals_(restart) {}

Blocker::Blocker(int fd, bool write, Restart restart, const fd_facts::Facts& facts) noexcept
    : fd_(fd), write_(write), facts_known_(true), facts_(facts), signals_(restart) {}

int Blocker::wait() noexcept {
    if (first_) {
        first_ = false;
        const fd_facts::Facts f = facts_known_ ? facts_ : fd_facts::of(fd_);
        // The program's own O_NONBLOCK (the shim never sets it) means: do not wait.
        if (f.nonblocking) {
            errno = EAGAIN;
            return -1;
        }
        timeval tv{};
        socklen_t len = sizeof tv;
        if ((write_ ? f.send_timeout : f.receive_timeout) &&
            real::getsockopt(fd_, SOL_SOCKET, write_ ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) == 0 &&
            (tv.tv_sec || tv.tv_usec)) {
            deadline_ = earliest(deadline_, Deadline::after(green::detail::to_seconds(tv)));
            signals_.restart = Restart::never;  // a socket call with a timeout is never restarted
        }
    }
    // Checked before parking, not after waking: a call woken by a signal handler
    // tries once more, and what became ready meanwhile wins over EINTR, as in
    // the kernel, which looks for data before it looks for pending signals.
    if (interrupted()) {
        errno = EINTR;
        return -1;
    }
    const api::FdInterest interest{fd_, write_};
    api::Woke woke;
    try {
        woke = api::wait_fds(&interest, 1, deadline_.remaining());
    } catch (...) {
        return at_boundary(std::current_exception());
    }
    if (woke == api::Woke::closed) {
        errno = EBADF;
        return -1;
    }
    if (woke == api::Woke::timed_out) {
        errno = EAGAIN;  // what the kernel says when SO_RCVTIMEO / SO_SNDTIMEO passes
        return -1;
    }
    return 0;
}

}  // namespace shim
