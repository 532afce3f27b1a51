// The one loop every blocking hook runs, and the extern "C" boundary.
//
// A hook first asks may_park(): only then does it cooperate; otherwise it makes
// the plain libc call, with exactly libc's blocking semantics. That is the case
// before the shim is live or after it is torn down, inside a signal handler, on
// a thread without a hub, in the hub itself, and when no other greenlet exists
// (blocking the thread then is the same, only cheaper).
//
// Cooperating means: make the call without waiting (MSG_DONTWAIT, RWF_NOWAIT, or
// after a readiness check: never by setting O_NONBLOCK, which other processes
// sharing the file would see); on EAGAIN park the greenlet until the fd is ready;
// retry. What the program sees stays libc's: EAGAIN if it made the fd
// non-blocking itself or the socket's SO_RCVTIMEO / SO_SNDTIMEO passed, EINTR
// when a signal handler ran as signal(7) says it interrupts, EBADF when another
// greenlet closed the fd. A greenlet killed (or whose green::Timeout expired)
// while parked gets -1 with ECANCELED, and the kill is thrown again at its next
// suspension point, after the C code has returned: an exception never crosses C
// frames.
#pragma once

#include <cerrno>
#include <exception>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include <green/detail/time.hpp>

#include "shim_api.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"
#include "state.hpp"

namespace shim {

inline bool may_park() noexcept {
    if (!state::live.load(std::memory_order_relaxed) || state::plain_depth != 0) return false;
    return state::always_cooperate ? green::detail::shim_api::can_use_runtime()
                                   : green::detail::shim_api::cooperative();
}

// Whether a signal handler that runs while the call waits makes it fail with
// EINTR (signal(7)).
enum class Restart : unsigned char {
    if_sa_restart,  // read, write, recv, send, accept, connect: restarted under SA_RESTART
    never,          // poll, select, epoll_wait, sleeps, and socket calls with a timeout
};

// What an exception caught at a hook's extern "C" boundary means to C. Only an
// interruption (a kill, an expired green::Timeout) is ECANCELED, and only it is
// delivered again to the greenlet; an error becomes the errno it carries
// (std::system_error), ENOMEM (std::bad_alloc) or EIO (anything else).
struct Failure {
    int error;  // the errno value
    int eai;    // the EAI_* value, for the resolver's entry points (EAI_SYSTEM: see `error`)
};
Failure failure_of(const std::exception_ptr& e) noexcept;

// Sets errno to failure_of(e).error; returns -1.
int at_boundary(const std::exception_ptr& e) noexcept;

using green::detail::Deadline;
using green::detail::kForever;

// A timeout argument the kernel accepts: none (null, waiting forever) or a
// valid timespec.
inline bool valid_or_none(const timespec* t) noexcept { return !t || green::detail::valid(*t); }

// Whether a signal handler that ran on this thread since the call began
// interrupts it.
class SignalCheck {
public:
    explicit SignalCheck(Restart restart) noexcept;
    bool interrupted() const noexcept;
    Restart restart;

private:
    green::detail::shim_api::SignalCount start_;
};

// The state of one blocking call between attempts (one call may make several:
// a send that delivers its bytes in chunks).
class Blocker {
public:
    // `deadline`: a limit of the call itself (recvmmsg's timeout), besides the
    // socket's own SO_RCVTIMEO / SO_SNDTIMEO.
    Blocker(int fd, bool write, Restart restart, Deadline deadline = {}) noexcept;
    // For a call that has read the descriptor's facts already: the first wait
    // uses them rather than look them up again.
    Blocker(int fd, bool write, Restart restart, const fd_facts::Facts& facts) noexcept;
    // After the attempt said EAGAIN: 0 to try again, or -1 with errno set (EINTR
    // once a handler that interrupts the call has run since it began).
    int wait() noexcept;
    // Whether a signal handler that ran since the call began interrupts it.
    bool interrupted() const noexcept { return signals_.interrupted(); }

private:
    int fd_;
    bool write_;
    bool first_ = true;
    bool facts_known_ = false;
    fd_facts::Facts facts_{};
    Deadline deadline_;
    SignalCheck signals_;
};

// Returns `r`, the result of a hooked call that did not wait: where a green
// thread whose time slice is over lets the others run first, as the kernel would
// have switched threads by now (a writer whose sends never fill the socket, a
// loop of zero-timeout polls).
template <class R>
R without_waiting(R r) noexcept {
    if (state::live.load(std::memory_order_relaxed) && state::plain_depth == 0)
        green::detail::shim_api::take_turn_if_over();
    return r;
}

// `call()`, a call told not to wait (a zero timeout, MSG_DONTWAIT), made as the
// cancellation point it still is (glibc's own check never sees a green thread).
template <class Call>
auto at_once(Call&& call) -> decltype(call()) {
    return threads::cancellation_point([&]() noexcept { return without_waiting(call()); });
}

// Runs `attempt` (a call that does not wait, returning >= 0 or -1 with errno)
// until it succeeds, fails otherwise than with EAGAIN, or the Blocker gives up.
// (Its callers asked may_park() already: not inside a signal handler.)
template <class Attempt>
long cooperate(Blocker& blocker, Attempt&& attempt) noexcept {
    long r = attempt();
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        green::detail::shim_api::take_turn_if_over();
        return r;
    }
    do {
        if (blocker.wait() < 0) {
            green::detail::shim_api::take_turn_if_over();  // a loop on EAGAIN of a non-blocking fd, too
            return -1;
        }
        r = attempt();
    } while (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    return r;
}

template <class Attempt>
long cooperate(int fd, bool write, Restart restart, Attempt&& attempt) noexcept {
    Blocker blocker(fd, write, restart);
    return cooperate(blocker, attempt);
}

// A signal mask in force for a scope (the one ppoll, pselect, epoll_pwait and
// sigsuspend take): the whole thread's, so the hub waits under it too.
class MaskScope {
public:
    explicit MaskScope(const sigset_t* mask) noexcept : active_(mask != nullptr) {
        if (active_) pthread_sigmask(SIG_SETMASK, mask, &old_);
    }
    ~MaskScope() {
        if (active_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

private:
    bool active_;
    sigset_t old_{};
};

// Runs `call` (one system call that has no per-call non-blocking flag) with
// O_NONBLOCK set on `fd` and restores the flags before anything else runs on
// this thread (read now, not earlier: another greenlet may have changed them).
// Only for sockets: a process sharing the open file description sees the flag
// during that one call. errno is the call's.
template <class Call>
long with_nonblocking(int fd, Call&& call) noexcept {
    const int flags = real::fcntl(fd, F_GETFL, nullptr);
    if (flags < 0 || (flags & O_NONBLOCK)) return call();
    real::fcntl(fd, F_SETFL, reinterpret_cast<void*>(static_cast<long>(flags | O_NONBLOCK)));
    const long r = call();
    const int saved = errno;
    real::fcntl(fd, F_SETFL, reinterpret_cast<void*>(static_cast<long>(flags)));
    fd_facts::flags_changed(fd);  // another thread may have learnt the flag we set meanwhile
    errno = saved;
    return r;
}

}  // namespace shim
