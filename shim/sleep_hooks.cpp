// sleep, usleep, nanosleep, clock_nanosleep: a cooperative sleep that a signal
// handler interrupts as it interrupts the real one (EINTR, with the time left
// reported where the call reports it). Clocks other than the realtime,
// monotonic and boottime ones (CPU-time clocks) get the real call.
//
// pause, sigsuspend: a cooperative wait for a signal handler to run (then
// EINTR), with sigsuspend's mask on the thread meanwhile. Only handlers the
// shim's sigaction installed report that they ran (see process_hooks.cpp).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "cooperate.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

namespace shim {
namespace {

namespace api = green::detail::shim_api;
using green::detail::to_seconds;
using green::detail::to_timespec;

bool valid(const timespec* t) { return t && green::detail::valid(*t); }

// Sleeps `seconds`; returns the seconds left when a signal handler cut it short
// (0 when it slept them all), or -1 with errno set.
double sleep_for(double seconds) noexcept {
    const Deadline until = Deadline::after(seconds);
    try {
        if (api::sleep_for(seconds)) return 0;
    } catch (...) {
        at_boundary(std::current_exception());
        return -1;
    }
    return std::max(until.remaining(), 1e-9);
}

// Parks until a signal handler runs, with `mask` (if any) as the thread's
// signal mask meanwhile; -1 with EINTR then, or with errno after a kill.
int until_signal(const sigset_t* mask) noexcept {
    const SignalCheck signals(Restart::never);  // first: unmasking may run a handler at once
    MaskScope scope(mask);
    while (!signals.interrupted()) {
        try {
            api::wait_for_signal();
        } catch (...) {
            return at_boundary(std::current_exception());
        }
    }
    errno = EINTR;
    return -1;
}

}  // namespace
}  // namespace shim

using shim::may_park;

GREEN_HOOK int nanosleep(const timespec* req, timespec* rem) {
    if (!shim::valid(req) || !may_park()) return shim::real::nanosleep(req, rem);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        const double left = shim::sleep_for(shim::to_seconds(*req));
        if (left == 0) return 0;
        if (left > 0) {
            if (rem) *rem = shim::to_timespec(left);
            errno = EINTR;
        }
        return -1;
    });
}

GREEN_HOOK int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
    const bool known = clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME;
    if (!known || !shim::valid(req) || !may_park()) return shim::real::clock_nanosleep(clock, flags, req, rem);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        double seconds = shim::to_seconds(*req);
        if (flags & TIMER_ABSTIME) {
            timespec now{};
            clock_gettime(clock, &now);
            seconds -= shim::to_seconds(now);
            if (seconds <= 0) return 0;
        }
        const int saved = errno;
        const double left = shim::sleep_for(seconds);
        if (left == 0) return 0;
        const int error = left > 0 ? EINTR : errno;
        if (left > 0 && rem && !(flags & TIMER_ABSTIME)) *rem = shim::to_timespec(left);
        errno = saved;  // clock_nanosleep reports through its return value only
        return error;
    });
}

GREEN_HOOK int usleep(useconds_t usec) {
    if (!may_park()) return shim::real::usleep(usec);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        const double left = shim::sleep_for(usec / 1e6);
        if (left == 0) return 0;
        if (left > 0) errno = EINTR;
        return -1;
    });
}

GREEN_HOOK unsigned int sleep(unsigned int seconds) {
    if (!may_park()) return shim::real::sleep(seconds);
    return shim::threads::cancellation_point([&]() noexcept -> unsigned int {
        const double left = shim::sleep_for(seconds);
        if (left <= 0) return 0;
        return static_cast<unsigned int>(std::ceil(left));  // whole seconds not slept, as glibc rounds
    });
}

GREEN_HOOK int pause() {
    if (!may_park()) return shim::real::pause();
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::until_signal(nullptr);
    });
}

GREEN_HOOK int sigsuspend(const sigset_t* mask) {
    const void* volatile given = mask;  // declared nonnull, yet a null one must get EFAULT, not a wait
    if (!given || !may_park()) return shim::real::sigsuspend(mask);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        return shim::until_signal(mask);
    });
}
