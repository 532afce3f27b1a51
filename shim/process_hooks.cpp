// fork, the wait family, sigaction and the older interfaces that install
// handlers (signal, bsd_signal, sysv_signal, sigset, siginterrupt).
//
// fork: the runtime re-initialises the child from its pthread_atfork handler
// (only the forking greenlet goes on there), so the hook only forwards.
//
// waitpid, wait, wait3, wait4, waitid: the call is made with WNOHANG; while it
// finds nothing, the greenlet parks until a child may have changed state (see
// runtime/src/detail/child_wait.hpp: a sleep that grows to 50 ms, cut short by
// a pidfd when one child exits). Restarted under SA_RESTART, as signal(7) says.
//
// Signal handlers: sigaction and signal install a trampoline around the
// program's handler. While a handler runs, hooks on that thread make plain libc
// calls; after it ran, greenlets parked in hooked calls on that thread are woken
// and fail with EINTR where the real call would (signal(7): read, recv, accept...
// only when the handler lacked SA_RESTART or the socket has a timeout; poll,
// select, epoll_wait and the sleeps always). sigaction reports the program's own
// handler back, never the trampoline. Synchronous fault signals (SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) interrupt nothing and are not wrapped.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "cooperate.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

namespace shim {
namespace {

namespace api = green::detail::shim_api;

// The program's handler for each signal the trampoline stands in for.
struct Installed {
    std::atomic<void*> handler{nullptr};  // sa_handler or sa_sigaction
    std::atomic<bool> siginfo{false};
    std::atomic<bool> restart{false};
};
// No lock guards it: sigaction is async-signal-safe, and a handler that
// installs itself again (System V's signal idiom) may interrupt the program's
// own sigaction on this thread. Concurrent installs for one signal end as the
// kernel's do: the last one wins.
Installed installed[NSIG];
// Signals siginterrupt(sig, 1) marked: signal() then installs without SA_RESTART.
std::atomic<bool> interrupts_calls[NSIG];

bool wrappable(int sig) {
    switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS: return false;
    default: return sig > 0 && sig < NSIG;
    }
}

bool is_function(void* h) {
    return h != reinterpret_cast<void*>(SIG_DFL) && h != reinterpret_cast<void*>(SIG_IGN) &&
           h != reinterpret_cast<void*>(SIG_ERR);
}

void trampoline(int sig, siginfo_t* info, void* context) {
    // A preemption sent as the program installed its own SIGURG handler is not for it.
    if (sig == threads::kPreemptSignal && threads::is_preemption(info)) return;
    const int saved = errno;
    Installed& h = installed[sig];
    void* fn = h.handler.load(std::memory_order_acquire);
    ++state::plain_depth;
    if (h.siginfo.load(std::memory_order_relaxed))
        reinterpret_cast<void (*)(int, siginfo_t*, void*)>(fn)(sig, info, context);
    else
        reinterpret_cast<void (*)(int)>(fn)(sig);
    --state::plain_depth;
    api::note_signal(h.restart.load(std::memory_order_relaxed));
    errno = saved;
}

// `reap(WNOHANG)` is one wait-family call that does not block: > 0 for the
// child it found, 0 when none changed state, -1 with errno.
template <class Reap>
long reap_cooperatively(pid_t pid, Reap&& reap) noexcept {
    const SignalCheck signals(Restart::if_sa_restart);
    green::detail::ChildWait wait;
    for (;;) {
        const long r = reap(WNOHANG);
        if (r != 0) return r;
        // After the look, as the kernel does: the SIGCHLD of the child being
        // waited for does not turn its exit into EINTR.
        if (signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
        try {
            api::wait_for_child(pid, wait);
        } catch (...) {
            return at_boundary(std::current_exception());
        }
    }
}

// signal() and its relatives: `handler` installed with `flags`, the signal
// blocked while the handler runs unless SA_NODEFER; the previous handler back.
sighandler_t install(int sig, sighandler_t handler, int flags) noexcept {
    if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    struct sigaction act {}, old {};
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    if (!(flags & SA_NODEFER)) sigaddset(&act.sa_mask, sig);
    act.sa_flags = flags;
    if (::sigaction(sig, &act, &old) != 0) return SIG_ERR;  // the hook below
    return old.sa_handler;
}

}  // namespace
}  // namespace shim

GREEN_HOOK pid_t waitpid(pid_t pid, int* status, int options) {
    if (!shim::may_park() || (options & WNOHANG)) return shim::real::waitpid(pid, status, options);
    return shim::threads::cancellation_point([&]() noexcept -> pid_t {
        return static_cast<pid_t>(shim::reap_cooperatively(
            pid, [&](int nohang) { return shim::real::waitpid(pid, status, options | nohang); }));
    });
}

GREEN_HOOK pid_t wait(int* status) { return waitpid(-1, status, 0); }

GREEN_HOOK pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage) noexcept {
    if (!shim::may_park() || (options & WNOHANG)) return shim::real::wait4(pid, status, options, usage);
    // Declared noexcept (__THROWNL) by glibc: not a cancellation point the unwinding could pass.
    return static_cast<pid_t>(shim::reap_cooperatively(
        pid, [&](int nohang) { return shim::real::wait4(pid, status, options | nohang, usage); }));
}

GREEN_HOOK pid_t wait3(int* status, int options, struct rusage* usage) noexcept {
    return wait4(-1, status, options, usage);
}

// waitid returns 0 whether or not it found a child; under WNOHANG si_pid tells.
GREEN_HOOK int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
    if (!shim::may_park() || (options & WNOHANG)) return shim::real::waitid(type, id, info, options);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        const pid_t pid = type == P_PID ? static_cast<pid_t>(id) : type == P_PGID ? -static_cast<pid_t>(id) : -1;
        siginfo_t own{};
        siginfo_t* out = info ? info : &own;
        const long r = shim::reap_cooperatively(pid, [&](int nohang) -> long {
            out->si_pid = 0;
            if (shim::real::waitid(type, id, out, options | nohang) != 0) return -1;
            return out->si_pid;
        });
        return r < 0 ? -1 : 0;
    });
}

GREEN_HOOK int sigaction(int sig, const struct sigaction* __restrict act, struct sigaction* __restrict old) noexcept {
    // The runtime's own handlers (the monitor's report) are not the program's: never wrapped.
    if (!shim::wrappable(sig) || shim::api::in_runtime_scope()) return shim::real::sigaction(sig, act, old);
    void* const wanted = act ? shim::threads::handler_of(*act) : nullptr;
    // (A vfork child's sigaction is its own: the preemption's records are the parent's.)
    if (sig == shim::threads::kPreemptSignal && shim::threads::preempting() && !shim::state::vfork_child) {
        if (!shim::is_function(wanted)) return shim::threads::program_disposition(act, old);
        shim::threads::stop_preemption();  // a handler of the program's own: the signal is the program's again
    }
    shim::Installed& h = shim::installed[sig];
    void* const previous = h.handler.load();
    const bool previous_siginfo = h.siginfo.load();
    struct sigaction kernel_old {};
    int r;
    // A vfork child installs its handler plainly: the record it would write is the parent's.
    if (act && shim::is_function(wanted) && !shim::state::vfork_child) {
        struct sigaction ours = *act;
        ours.sa_sigaction = shim::trampoline;
        ours.sa_flags |= SA_SIGINFO;
        h.handler.store(wanted, std::memory_order_release);
        h.siginfo.store(act->sa_flags & SA_SIGINFO);
        h.restart.store(act->sa_flags & SA_RESTART);
        r = shim::real::sigaction(sig, &ours, &kernel_old);
    } else {
        r = shim::real::sigaction(sig, act, &kernel_old);
    }
    if (r == 0 && old) {
        *old = kernel_old;
        if (kernel_old.sa_sigaction == shim::trampoline) {  // report the program's handler, not ours
            if (previous_siginfo) {
                old->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(previous);
            } else {
                old->sa_flags &= ~SA_SIGINFO;
                old->sa_handler = reinterpret_cast<void (*)(int)>(previous);
            }
        }
    }
    return r;
}

// The preload stub (shim/stub) loads these hooks while the program runs: the
// handlers it installed before then are wrapped now, as the hook above would
// have, so that they too interrupt parked calls and are known to run.
GREEN_HOOK void green_hooks_adopt_signal_handlers() noexcept {
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction act {};
        if (!shim::wrappable(sig) || shim::real::sigaction(sig, nullptr, &act) != 0) continue;
        void* const handler = shim::threads::handler_of(act);
        if (shim::is_function(handler) && act.sa_sigaction != shim::trampoline) sigaction(sig, &act, nullptr);
    }
}

// glibc's signal(): BSD semantics, SA_RESTART (unless siginterrupt said
// otherwise for the signal) and the signal blocked while its handler runs.
GREEN_HOOK sighandler_t signal(int sig, sighandler_t handler) noexcept {
    const bool interrupts = sig > 0 && sig < NSIG && shim::interrupts_calls[sig].load();
    return shim::install(sig, handler, interrupts ? 0 : SA_RESTART);
}

GREEN_HOOK sighandler_t bsd_signal(int sig, sighandler_t handler) noexcept { return signal(sig, handler); }

// The older interfaces below are built on sigaction inside glibc, where the hook
// above does not reach: each is redone here on top of the hook, with the flags
// its manual page gives, so their handlers interrupt parked calls too.

// System V semantics: the handler runs once (then SIG_DFL), the signal is not
// blocked while it runs, and interrupted calls fail with EINTR.
GREEN_HOOK sighandler_t sysv_signal(int sig, sighandler_t handler) noexcept {
    return shim::install(sig, handler, SA_RESETHAND | SA_NODEFER);
}

GREEN_HOOK sighandler_t __sysv_signal(int sig, sighandler_t handler) noexcept { return sysv_signal(sig, handler); }

// flag != 0: the handler interrupts calls (no SA_RESTART); 0: they restart.
// Remembered for the signal: a later signal() installs the same way.
GREEN_HOOK int siginterrupt(int sig, int flag) noexcept {
    struct sigaction act {};
    if (sigaction(sig, nullptr, &act) != 0) return -1;
    shim::interrupts_calls[sig].store(flag != 0);
    if (flag)
        act.sa_flags &= ~SA_RESTART;
    else
        act.sa_flags |= SA_RESTART;
    return sigaction(sig, &act, nullptr);
}

// sigset(3): SIG_HOLD adds the signal to the mask; anything else installs the
// disposition (no flags) and removes the signal from the mask. Returns SIG_HOLD
// if the signal was blocked before, else the previous disposition.
GREEN_HOOK sighandler_t sigset(int sig, sighandler_t disposition) noexcept {
    sigset_t only, before;
    sigemptyset(&only);
    if (sigaddset(&only, sig) != 0) return SIG_ERR;
    struct sigaction old {};
    if (disposition == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &only, &before) != 0) return SIG_ERR;
        if (sigismember(&before, sig)) return SIG_HOLD;
        if (sigaction(sig, nullptr, &old) != 0) return SIG_ERR;
        return old.sa_handler;
    }
    struct sigaction act {};
    act.sa_handler = disposition;
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    if (sigprocmask(SIG_UNBLOCK, &only, &before) != 0) return SIG_ERR;
    return sigismember(&before, sig) ? SIG_HOLD : old.sa_handler;
}

GREEN_HOOK pid_t fork() noexcept { return shim::real::fork(); }

#if defined(__x86_64__)
// vfork.S's failure path: the system call's error as errno, -1 to its caller.
extern "C" pid_t green_vfork_failed(int error) noexcept {
    errno = error;
    return -1;
}
#else
// Elsewhere vfork has fork's semantics, which POSIX allows: the child gets a
// copy of the parent's memory, so what its hooks change is its own.
GREEN_HOOK pid_t vfork() noexcept { return shim::real::fork(); }
#endif
