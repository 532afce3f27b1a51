// sem_wait, sem_timedwait, sem_clockwait and sem_post on glibc's sem_t (whose
// sem_init, sem_getvalue and sem_destroy stay glibc's: the layout is the same).
//
// glibc's struct new_sem: a 64-bit word with the value in its low half and the
// waiters in its high half, then a word that is 0 for a semaphore of this
// process and nonzero for a process-shared or named one. Waiters park on the semaphore's
// address; one counts itself and queues in one step under the bucket lock, so a
// post that raised the value after it looked always finds it. sem_post is
// async-signal-safe, here too.
//
// A process-shared semaphore may be posted by another process, which wakes
// nobody here: a green thread waits for one by trying again (retry_wait.hpp:
// at once after a post of this process, else after a pause that grows to
// 50 ms); a real thread keeps glibc's wait.
#include <semaphore.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "../retry_wait.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

struct Sem {
    std::uint64_t data;  // value | waiters << 32
    int shared;          // glibc's `private` word: nonzero (FUTEX_SHARED) for a process-shared semaphore
    int pad;
};
static_assert(sizeof(Sem) <= sizeof(sem_t), "glibc's semaphore layout");

constexpr std::uint64_t kValue = 0xffffffffu;
constexpr std::uint64_t kWaiter = std::uint64_t{1} << 32;

Sem& view(sem_t* s) noexcept { return *reinterpret_cast<Sem*>(s); }
std::atomic_ref<std::uint64_t> data(sem_t* s) noexcept { return std::atomic_ref<std::uint64_t>(view(s).data); }

bool try_take(sem_t* s) noexcept {
    std::uint64_t d = data(s).load(std::memory_order_relaxed);
    while (d & kValue)
        if (data(s).compare_exchange_weak(d, d - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    return false;
}

struct Waiting {
    sem_t* sem;
    bool queued = false;
};

// Returns 0, or -1 with errno ETIMEDOUT, or EINTR once a signal handler that
// interrupts the call ran on the thread meanwhile (as glibc's futex wait).
int wait_here(sem_t* s, Deadline deadline, const SignalCheck& signals) {
    for (;;) {
        if (try_take(s)) return 0;
        Waiting w{s};
        api::Parked p{};
        try {
            p = api::park(
                s,
                [](void* c) {
                    auto& x = *static_cast<Waiting*>(c);
                    const std::uint64_t d = data(x.sem).fetch_add(kWaiter, std::memory_order_acq_rel);
                    if (d & kValue) {  // a post came first: take it instead of waiting
                        data(x.sem).fetch_sub(kWaiter, std::memory_order_relaxed);
                        return false;
                    }
                    x.queued = true;
                    return true;
                },
                nullptr, &w, deadline, "sem_wait", may_switch(), true);
        } catch (...) {
            if (w.queued) data(s).fetch_sub(kWaiter, std::memory_order_relaxed);
            throw;
        }
        if (w.queued) data(s).fetch_sub(kWaiter, std::memory_order_relaxed);
        if (p.result == api::ParkResult::timed_out) {
            // A post on another carrier may have come after the wait ended:
            // what is there now is taken, once.
            if (try_take(s)) return 0;
            errno = ETIMEDOUT;
            return -1;
        }
        if (p.result == api::ParkResult::interrupted && signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
    }
}

int wait_shared(sem_t* s, Deadline deadline) {
    return retry::wait("sem_wait (process-shared)", Restart::if_sa_restart, deadline, ETIMEDOUT, [s] {
        if (try_take(s)) return 0;
        errno = EAGAIN;
        return -1;
    }, [](int error) { return error == EAGAIN; });
}

// sem_wait and its timed forms; a cancellation point. A signal handler
// interrupts them as signal(7) says: EINTR unless it was installed with
// SA_RESTART (CPython's are not: a Ctrl-C reaches a thread.join()).
int wait(sem_t* s, Deadline deadline) {
    const SignalCheck signals(Restart::if_sa_restart);
    GreenThread* self = current();
    if (self) act_on_cancel(*self);
    int r = -1;
    int error = EINTR;  // what a cancellation that cannot act (it always can) would leave
    if (self) ++self->greenlet->cancel_point;
    try {
        r = view(s).shared ? wait_shared(s, deadline) : wait_here(s, deadline, signals);
        error = errno;
    } catch (const api::ThreadCancel&) {
    }
    if (self) --self->greenlet->cancel_point;
    if (self) act_on_cancel(*self);
    errno = error;
    return r;
}

// Whether this call is ours: thread patching on, and for a process-shared
// semaphore only a green thread's wait (a real thread keeps glibc's).
bool ours_to_wait(sem_t* s) noexcept { return enabled() && (!view(s).shared || may_switch()); }

}  // namespace
}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int sem_wait(sem_t* s) {
    if (!ours_to_wait(s)) return shim::real::sem_wait(s);
    return wait(s, Deadline());
}

GREEN_HOOK int sem_clockwait(sem_t* s, clockid_t clock, const timespec* abstime) {
    if (!ours_to_wait(s)) return shim::real::sem_clockwait(s, clock, abstime);
    Deadline deadline;
    if (!to_deadline(clock, abstime, deadline)) {
        if (try_take(s)) return 0;  // glibc looks at the time only when it would wait
        errno = EINVAL;
        return -1;
    }
    return wait(s, deadline);
}

GREEN_HOOK int sem_timedwait(sem_t* s, const timespec* abstime) {
    if (!ours_to_wait(s)) return shim::real::sem_timedwait(s, abstime);
    return sem_clockwait(s, CLOCK_REALTIME, abstime);
}

// Not a wait, but a loop of tries must take turns with the thread that posts.
GREEN_HOOK int sem_trywait(sem_t* s) noexcept {
    const int r = shim::real::sem_trywait(s);
    return r != 0 && errno == EAGAIN ? shim::without_waiting(r) : r;
}

GREEN_HOOK int sem_post(sem_t* s) noexcept {
    if (!enabled()) return shim::real::sem_post(s);
    if (view(s).shared) return shim::retry::told(shim::real::sem_post(s));
    std::uint64_t d = data(s).load(std::memory_order_relaxed);
    do {
        if ((d & kValue) == SEM_VALUE_MAX) {
            errno = EOVERFLOW;
            return -1;
        }
    } while (!data(s).compare_exchange_weak(d, d + 1, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (d >> 32) api::unpark(s, 1, 0, shim::state::plain_depth != 0);
    return 0;
}
