// pthread_cond_* and C11's cnd_* on glibc's pthread_cond_t.
//
// __wrefs keeps glibc's meaning for its low bits (bit 0 process-shared, bit 1
// CLOCK_MONOTONIC, as pthread_cond_init writes them) and, from bit 3 up, counts
// the waiters queued in the parking lot on the cond's address, so a signal with
// nobody waiting costs one load. A waiter counts itself and queues in one step
// under the lot's bucket lock, before it lets go of the mutex: a signal sent by
// whoever takes the mutex next always finds it. Bit 2: pthread_cond_destroy
// waits for the waiters to leave, as glibc's does.
#include <threads.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "../real.hpp"
#include "../state.hpp"
#include "mutex.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

constexpr unsigned kShared = 1, kMonotonic = 2, kDestroying = 4, kWaiter = 8;

std::atomic_ref<unsigned> wrefs(pthread_cond_t* c) noexcept { return std::atomic_ref<unsigned>(c->__data.__wrefs); }

bool shared(pthread_cond_t* c) noexcept { return wrefs(c).load(std::memory_order_relaxed) & kShared; }

bool ours(pthread_cond_t* c, pthread_mutex_t* m) noexcept {
    return enabled() && !shared(c) && (!m || !glibc_mutex(m));
}

// A green thread's wait that glibc's objects would make block its carrier.
bool green_waits_for_shared(pthread_cond_t* c, pthread_mutex_t* m) noexcept {
    return enabled() && (shared(c) || glibc_mutex(m)) && may_switch();
}

void leave(pthread_cond_t* c) noexcept {
    const unsigned before = wrefs(c).fetch_sub(kWaiter, std::memory_order_acq_rel);
    if ((before & kDestroying) && (before >> 3) == 1) api::unpark(&c->__data.__wrefs, SIZE_MAX, 0, false);
}

struct Wait {
    pthread_cond_t* cond;
    pthread_mutex_t* mutex;
};

// One wait on `c`, the caller holding `m`; a cancellation point. Returns 0,
// ETIMEDOUT, or what relocking the mutex says (EOWNERDEAD).
int wait(pthread_cond_t* c, pthread_mutex_t* m, Deadline deadline) {
    if (const int r = check_owner(m)) return r;
    GreenThread* self = current();
    if (self) act_on_cancel(*self);
    Wait w{c, m};
    api::ParkResult result = api::ParkResult::invalid;
    bool canceled = false;
    if (self) ++self->greenlet->cancel_point;
    try {
        result = api::park(
                     c,
                     [](void* p) {
                         wrefs(static_cast<Wait*>(p)->cond).fetch_add(kWaiter, std::memory_order_acq_rel);
                         return true;
                     },
                     [](void* p) { unlock_mutex(static_cast<Wait*>(p)->mutex); }, &w, deadline,
                     "pthread_cond_wait", may_switch())
                     .result;
    } catch (const api::ThreadCancel&) {
        canceled = true;
    }
    if (self) --self->greenlet->cancel_point;
    leave(c);
    // The mutex is taken again before anything else, a cancellation's cleanup
    // handlers included (POSIX).
    const int relocked = lock_mutex(m, Deadline());
    if (canceled || self) act_on_cancel(*self);
    if (relocked) return relocked;
    return result == api::ParkResult::timed_out ? ETIMEDOUT : 0;
}

// A green thread's wait on a process-shared cond (or with a process-shared
// mutex): glibc's wait would block the carrier, and a signal from another
// process wakes only the kernel's waiters. It lets go of the mutex, pauses
// 2 ms, takes the mutex again and returns: a spurious wake-up, which every
// caller of pthread_cond_wait must expect; the caller looks at its predicate
// and waits again.
int wait_shared(pthread_cond_t* c, pthread_mutex_t* m, Deadline deadline) {
    if (const int r = check_owner(m)) return r;
    GreenThread* self = current();
    if (self) act_on_cancel(*self);
    if (const int r = unlock_mutex(m)) return r;
    bool canceled = false;
    if (self) ++self->greenlet->cancel_point;
    try {
        api::park(c, [](void*) { return true; }, nullptr, nullptr, earliest(deadline, Deadline::after(0.002)),
                  "pthread_cond_wait (process-shared)", true);
    } catch (const api::ThreadCancel&) {
        canceled = true;
    }
    if (self) --self->greenlet->cancel_point;
    const int relocked = lock_mutex(m, Deadline());
    if (canceled || self) act_on_cancel(*self);
    if (relocked) return relocked;
    return deadline.passed() ? ETIMEDOUT : 0;
}

clockid_t clock_of(pthread_cond_t* c) noexcept {
    return (wrefs(c).load(std::memory_order_relaxed) & kMonotonic) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int c11_status(int error) noexcept {
    return error == 0 ? thrd_success : error == ETIMEDOUT ? thrd_timedout : thrd_error;
}

}  // namespace
}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
    if (green_waits_for_shared(c, m)) return wait_shared(c, m, Deadline());
    if (!ours(c, m)) return shim::real::pthread_cond_wait(c, m);
    return wait(c, m, Deadline());
}

GREEN_HOOK int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
    const bool green_shared = green_waits_for_shared(c, m);
    if (!green_shared && !ours(c, m)) return shim::real::pthread_cond_clockwait(c, m, clock, abstime);
    Deadline deadline;
    if (!to_deadline(clock, abstime, deadline)) return EINVAL;
    return green_shared ? wait_shared(c, m, deadline) : wait(c, m, deadline);
}

GREEN_HOOK int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
    if (!ours(c, m) && !green_waits_for_shared(c, m)) return shim::real::pthread_cond_timedwait(c, m, abstime);
    return pthread_cond_clockwait(c, m, clock_of(c), abstime);
}

GREEN_HOOK int pthread_cond_signal(pthread_cond_t* c) noexcept {
    if (!ours(c, nullptr)) return shim::real::pthread_cond_signal(c);
    if ((wrefs(c).load(std::memory_order_seq_cst) >> 3) != 0) api::unpark(c, 1, 0, false);
    return 0;
}

GREEN_HOOK int pthread_cond_broadcast(pthread_cond_t* c) noexcept {
    if (!ours(c, nullptr)) return shim::real::pthread_cond_broadcast(c);
    if ((wrefs(c).load(std::memory_order_seq_cst) >> 3) != 0) api::unpark(c, SIZE_MAX, 0, false);
    return 0;
}

GREEN_HOOK int pthread_cond_destroy(pthread_cond_t* c) noexcept {
    if (!ours(c, nullptr)) return shim::real::pthread_cond_destroy(c);
    // As glibc: wait until the waiters (woken or not) have left.
    wrefs(c).fetch_or(kDestroying, std::memory_order_acq_rel);
    while (wrefs(c).load(std::memory_order_acquire) >> 3) {
        api::park(
            &c->__data.__wrefs,
            [](void* p) { return (wrefs(static_cast<pthread_cond_t*>(p)).load(std::memory_order_acquire) >> 3) != 0; },
            nullptr, c, Deadline(), "pthread_cond_destroy", may_switch());
    }
    return 0;
}

// C11: cnd_t is a pthread_cond_t, mtx_t a pthread_mutex_t; cnd_timedwait's clock is CLOCK_REALTIME.
GREEN_HOOK int cnd_wait(cnd_t* c, mtx_t* m) {
    if (!enabled()) return shim::real::cnd_wait(c, m);
    return c11_status(pthread_cond_wait(reinterpret_cast<pthread_cond_t*>(c), reinterpret_cast<pthread_mutex_t*>(m)));
}

GREEN_HOOK int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const timespec* __restrict abstime) {
    if (!enabled()) return shim::real::cnd_timedwait(c, m, abstime);
    return c11_status(pthread_cond_clockwait(reinterpret_cast<pthread_cond_t*>(c),
                                             reinterpret_cast<pthread_mutex_t*>(m), CLOCK_REALTIME, abstime));
}

GREEN_HOOK int cnd_signal(cnd_t* c) {
    if (!enabled()) return shim::real::cnd_signal(c);
    return c11_status(pthread_cond_signal(reinterpret_cast<pthread_cond_t*>(c)));
}

GREEN_HOOK int cnd_broadcast(cnd_t* c) {
    if (!enabled()) return shim::real::cnd_broadcast(c);
    return c11_status(pthread_cond_broadcast(reinterpret_cast<pthread_cond_t*>(c)));
}

GREEN_HOOK void cnd_destroy(cnd_t* c) {
    if (!enabled()) return shim::real::cnd_destroy(c);
    pthread_cond_destroy(reinterpret_cast<pthread_cond_t*>(c));
}
