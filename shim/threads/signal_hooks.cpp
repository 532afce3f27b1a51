// Signal masks and waiting for signals, per green thread.
//
// Each green thread (and its carrier's own thread) has the mask the program
// gave it; what the carrier OS thread blocks is the intersection of those: a
// signal is delivered to the carrier while any of its threads accepts it, as
// POSIX lets any thread that does not block a process-directed signal take it.
// sigwait, sigwaitinfo and sigtimedwait park a green thread on a signalfd of
// the set until one of its signals is pending, then take it with a zero-timeout
// sigtimedwait, as the real call would.
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

// Signals 1..64 as bits: the first word of a sigset_t (glibc's layout).
std::uint64_t bits_of(const sigset_t& set) noexcept {
    std::uint64_t b;
    std::memcpy(&b, &set, sizeof b);
    return b;
}

// What the threads of this carrier block. Usually they all have the same mask
// (a new thread inherits its creator's): then it is the carrier's, and a
// thread that comes or goes costs nothing. Once they differ, each signal
// counts the threads that block it.
struct CarrierMask {
    unsigned identities = 0;
    bool uniform = true;
    std::uint64_t common = 0;     // every identity's mask, while uniform
    unsigned blocked[64] = {};    // per signal (bit i: signal i + 1), once not uniform
    std::uint64_t applied = 0;
    bool applied_known = false;
};
thread_local CarrierMask carrier [[gnu::tls_model("initial-exec")]];

void count(std::uint64_t mask, int delta) noexcept {
    for (std::uint64_t b = mask; b; b &= b - 1) carrier.blocked[__builtin_ctzll(b)] += static_cast<unsigned>(delta);
}

// The mask of one identity joins (+1) or leaves (-1) the carrier's.
void account(std::uint64_t mask, int delta) noexcept {
    CarrierMask& c = carrier;
    if (c.uniform && (c.identities == 0 || mask == c.common)) {
        c.common = mask;
    } else {
        if (c.uniform) {  // from now on, count per signal
            count(c.common, static_cast<int>(c.identities));
            c.uniform = false;
        }
        count(mask, delta);
    }
    c.identities += static_cast<unsigned>(delta);
}

void apply() noexcept {
    CarrierMask& c = carrier;
    std::uint64_t effective = c.uniform ? c.common : 0;
    if (!c.uniform && c.identities)
        for (unsigned i = 0; i < 64; ++i)
            if (c.blocked[i] == c.identities) effective |= std::uint64_t{1} << i;
    if (c.applied_known && effective == c.applied) return;
    sigset_t set;
    sigemptyset(&set);
    std::memcpy(&set, &effective, sizeof effective);
    real::pthread_sigmask(SIG_SETMASK, &set, nullptr);
    c.applied = effective;
    c.applied_known = true;
}

// The identity whose mask a pthread_sigmask call of the program changes, or
// null when glibc's own call applies (thread patching off, a real thread, a
// signal handler, the runtime itself).
GreenThread* mask_owner() noexcept {
    if (!enabled() || state::plain_depth != 0 || api::in_runtime_scope()) return nullptr;
    return current();
}

// Looks at the signals sent to the calling green thread `t` from any thread:
// those it blocks wait in its pending set (for sigwait or until unblocked).
void collect_sent(GreenThread& t) noexcept {
    for (std::uint64_t b = t.sent.exchange(0, std::memory_order_acq_rel); b; b &= b - 1)
        sigaddset(&t.pending, __builtin_ctzll(b) + 1);
}

// Raises, on the carrier and now (the calling green thread runs), the signals
// sent to it that it accepts: their handlers run on its stack.
void raise_sent(GreenThread& t) noexcept {
    collect_sent(t);
    for (int s = 1; s < NSIG; ++s) {
        if (sigismember(&t.pending, s) == 1 && sigismember(&t.sigmask, s) != 1) {
            sigdelset(&t.pending, s);
            real::pthread_kill(real::pthread_self(), s);
        }
    }
}

void take_sent(GreenletCore& g) {
    if (auto* t = static_cast<GreenThread*>(g.thread)) raise_sent(*t);
}

int change_mask(GreenThread& t, int how, const sigset_t* set, sigset_t* old) noexcept {
    sigset_t next = t.sigmask;
    if (set) {
        switch (how) {
        case SIG_BLOCK: sigorset(&next, &next, set); break;
        case SIG_UNBLOCK:
            for (int s = 1; s < NSIG; ++s)
                if (sigismember(set, s) == 1) sigdelset(&next, s);
            break;
        case SIG_SETMASK: next = *set; break;
        default: return EINVAL;
        }
        sigdelset(&next, SIGKILL);
        sigdelset(&next, SIGSTOP);
    }
    if (old) *old = t.sigmask;
    if (!set) return 0;
    account(bits_of(t.sigmask), -1);
    account(bits_of(next), +1);
    t.sigmask = next;
    apply();
    raise_sent(t);  // what it unblocked and was sent to it arrives now
    return 0;
}

// Waits (parked) until a signal of `set` is pending and takes it. Returns the
// signal number, or -1 with errno: EAGAIN when `deadline` passed, EINTR when a
// signal handler ran meanwhile and `interruptible`.
int take_signal(const sigset_t* set, siginfo_t* info, Deadline deadline, bool interruptible) noexcept {
    const SignalCheck signals(Restart::never);
    GreenThread* self = current();
    for (;;) {
        if (self) collect_sent(*self);
        for (int s = 1; self && s < NSIG; ++s)  // sent to this thread with pthread_kill
            if (sigismember(&self->pending, s) == 1 && sigismember(set, s) == 1) {
                sigdelset(&self->pending, s);
                *info = siginfo_t{};
                info->si_signo = s;
                info->si_code = SI_TKILL;
                info->si_pid = ::getpid();
                info->si_uid = ::getuid();
                return s;
            }
        const timespec now_only{0, 0};
        const int r = real::sigtimedwait(set, info, &now_only);
        if (r > 0 || errno != EAGAIN) return r;
        if (interruptible && signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
        const double left = deadline.remaining();
        if (left == 0) {
            errno = EAGAIN;
            return -1;
        }
        const int fd = [set] {
            const api::RuntimeFdCreationLock held;
            return api::own_runtime_fd(::signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC));
        }();
        if (fd < 0) return -1;  // the runtime's meanwhile: the program's close_range leaves it alone
        try {
            api::wait_held_fd(fd, left);  // closes it (or a program's dup2 did: then a new one)
        } catch (...) {
            return at_boundary(std::current_exception());
        }
    }
}

Deadline deadline_after(const timespec* timeout) noexcept {
    if (!timeout) return Deadline();
    return Deadline::after(green::detail::to_seconds(*timeout));
}

bool parks_for_signals() noexcept { return enabled() && shim::may_park(); }

}  // namespace

void add_mask(GreenThread& t) noexcept {
    account(bits_of(t.sigmask), +1);
    apply();
}

int send_signal(GreenThread& t, GreenletCore& g, int sig) noexcept {
    static std::atomic<bool> taker_set{false};
    if (!taker_set.exchange(true)) api::set_signal_taker(take_sent);
    t.sent.fetch_or(std::uint64_t{1} << (sig - 1), std::memory_order_acq_rel);
    api::request_signal(g);
    return 0;
}

void remove_mask(GreenThread& t) noexcept {
    account(bits_of(t.sigmask), -1);
    apply();
}

}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_sigmask(int how, const sigset_t* __restrict set, sigset_t* __restrict old) noexcept {
    GreenThread* t = mask_owner();
    if (!t) return shim::real::pthread_sigmask(how, set, old);
    return change_mask(*t, how, set, old);
}

GREEN_HOOK int sigprocmask(int how, const sigset_t* __restrict set, sigset_t* __restrict old) noexcept {
    GreenThread* t = mask_owner();
    if (!t) return shim::real::sigprocmask(how, set, old);
    if (const int r = change_mask(*t, how, set, old)) {
        errno = r;
        return -1;
    }
    return 0;
}

GREEN_HOOK int sigpending(sigset_t* set) noexcept {
    GreenThread* t = enabled() && shim::state::plain_depth == 0 ? current() : nullptr;
    const int r = shim::real::sigpending(set);
    if (r == 0 && t) {
        collect_sent(*t);
        sigorset(set, set, &t->pending);
    }
    return r;
}

GREEN_HOOK int sigwait(const sigset_t* __restrict set, int* __restrict sig) {
    if (!parks_for_signals()) return shim::real::sigwait(set, sig);
    return cancellation_point([&]() noexcept {
        siginfo_t info;
        const int r = take_signal(set, &info, Deadline(), false);
        if (r < 0) return errno;
        *sig = r;
        return 0;
    });
}

GREEN_HOOK int sigwaitinfo(const sigset_t* __restrict set, siginfo_t* __restrict info) {
    if (!parks_for_signals()) return shim::real::sigwaitinfo(set, info);
    return cancellation_point([&]() noexcept {
        siginfo_t own;
        return take_signal(set, info ? info : &own, Deadline(), true);
    });
}

GREEN_HOOK int sigtimedwait(const sigset_t* __restrict set, siginfo_t* __restrict info,
                            const timespec* __restrict timeout) {
    if (!parks_for_signals()) return shim::real::sigtimedwait(set, info, timeout);
    if (timeout && !green::detail::valid(*timeout)) {
        errno = EINVAL;
        return -1;
    }
    return cancellation_point([&]() noexcept {
        siginfo_t own;
        return take_signal(set, info ? info : &own, deadline_after(timeout), true);
    });
}
