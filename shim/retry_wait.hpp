// Waiting by asking again, for calls whose wait the loop cannot watch: a file
// lock (file_lock_hooks.cpp), a System V semaphore or message queue
// (sysv_ipc_hooks.cpp), a process-shared POSIX semaphore (threads/sem_hooks.cpp). The kernel's wait would block the whole thread, and
// with it every greenlet of its hub, the one that would end the wait perhaps
// among them. So the hook asks the call's non-blocking form and, while it
// would wait, parks until this process changes something such a call waits
// for (changed()) or a pause passes that grows to 50 ms (another process's
// change wakes nobody here).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "cooperate.hpp"

namespace shim::retry {

// This process changed something a retrying waiter may wait for (an unlock, a
// semaphore operation, a message sent or taken, a close): they ask again now.
// Async-signal-safe; one atomic load when nobody waits.
void changed() noexcept;

// `result`, after changed() if it says the call worked (0 or more): what each
// hook of a call such a waiter may wait for returns.
template <class R>
R told(R result) noexcept {
    if (result >= 0) changed();
    return result;
}

namespace detail {
// A waiter counts itself while it waits (changed() costs nothing otherwise).
void enter() noexcept;
void leave() noexcept;
std::uint32_t changes() noexcept;
// Parks until changed() after `seen`, `pause` seconds or `deadline`; a signal
// handler wakes it too. Throws threads::api::ThreadCancel inside a
// cancellation point.
void park(std::uint32_t seen, double pause, Deadline deadline, const char* what);
}  // namespace detail

// Asks `try_once()` (the call's non-blocking form) until it works or fails
// otherwise than `would_wait(errno)`, parking in between. -1 with EINTR when a
// signal handler ran that `restart` says interrupts; with `timed_out` (the
// errno of a wait that ran out) at `deadline`. A cancellation returns -1 with
// EINTR for the cancellation point around it to act on.
template <class Try, class WouldWait>
auto wait(const char* what, Restart restart, Deadline deadline, int timed_out, Try&& try_once, WouldWait&& would_wait)
    -> decltype(try_once()) {
    const SignalCheck signals(restart);
    detail::enter();
    struct Leave {
        ~Leave() { detail::leave(); }
    } leave;
    for (double pause = 0.001;; pause = std::min(pause * 2, 0.05)) {
        const std::uint32_t seen = detail::changes();
        const auto r = try_once();
        if (r >= 0 || !would_wait(errno)) return r;
        if (deadline.passed()) {
            errno = timed_out;
            return -1;
        }
        if (signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
        try {
            detail::park(seen, pause, deadline, what);
        } catch (const green::detail::shim_api::ThreadCancel&) {
            errno = EINTR;
            return -1;
        }
    }
}

}  // namespace shim::retry
