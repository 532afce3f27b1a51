// pthread_rwlock_* on glibc's pthread_rwlock_t.
//
// __readers: bit 31 a writer holds it, bits 0-30 the readers holding it.
// __writers: writers waiting; __pad3: readers waiting; __cur_writer: the
// holding writer's id (EDEADLK when it locks again). Readers park on the
// address of __readers, writers on that of __writers. The kind in __flags is
// glibc's: PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP keeps new readers out
// while a writer waits; the default (and PREFER_WRITER_NP, which glibc treats
// alike) lets readers in whenever no writer holds the lock.
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

constexpr unsigned kWriter = 1u << 31;
constexpr unsigned kReaders = kWriter - 1;

struct Rw {
    pthread_rwlock_t* r;
    std::atomic_ref<unsigned> state() const noexcept { return std::atomic_ref<unsigned>(r->__data.__readers); }
    std::atomic_ref<unsigned> writers_waiting() const noexcept { return std::atomic_ref<unsigned>(r->__data.__writers); }
    std::atomic_ref<unsigned> readers_waiting() const noexcept { return std::atomic_ref<unsigned>(r->__data.__pad3); }
    bool prefer_writers() const noexcept { return r->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP; }

    // Whether a reader arriving now must wait.
    bool reader_blocked() const noexcept {
        return (state().load() & kWriter) || (prefer_writers() && writers_waiting().load() != 0);
    }
};

bool ours(pthread_rwlock_t* r) noexcept { return enabled() && r->__data.__shared == 0; }

int rdlock(pthread_rwlock_t* r, Deadline deadline, bool try_only) {
    Rw rw{r};
    for (;;) {
        unsigned s = rw.state().load();
        if (!rw.reader_blocked()) {
            if ((s & kReaders) == kReaders) return EAGAIN;
            if (rw.state().compare_exchange_weak(s, s + 1, std::memory_order_acquire)) return 0;
            continue;
        }
        if (try_only) return EBUSY;
        if ((s & kWriter) && r->__data.__cur_writer == self_id()) return EDEADLK;
        bool queued = false;
        struct Ctx {
            Rw rw;
            bool* queued;
        } ctx{rw, &queued};
        const api::Parked p = api::park(
            &r->__data.__readers,
            [](void* c) {
                auto& x = *static_cast<Ctx*>(c);
                x.rw.readers_waiting().fetch_add(1);
                if (!x.rw.reader_blocked()) {
                    x.rw.readers_waiting().fetch_sub(1);
                    return false;
                }
                *x.queued = true;
                return true;
            },
            nullptr, &ctx, deadline, "pthread_rwlock_rdlock", may_switch());
        if (queued) rw.readers_waiting().fetch_sub(1);
        if (p.result == api::ParkResult::timed_out) return ETIMEDOUT;
    }
}

void wake_readers(Rw rw) noexcept {
    if (rw.readers_waiting().load() != 0) api::unpark(&rw.r->__data.__readers, SIZE_MAX, 0, false);
}

int wrlock(pthread_rwlock_t* r, Deadline deadline, bool try_only) {
    Rw rw{r};
    const int id = self_id();
    // Counted among the waiting writers from its first wait until it holds the
    // lock: a preferring lock keeps new readers out all that time, even while
    // the woken writer is on its way to take it from another carrier.
    bool waiting = false;
    for (;;) {
        unsigned s = 0;
        if (rw.state().compare_exchange_strong(s, kWriter, std::memory_order_acquire)) {
            r->__data.__cur_writer = id;
            if (waiting) rw.writers_waiting().fetch_sub(1);  // readers now wait for its unlock
            return 0;
        }
        if (try_only) return EBUSY;
        if (!waiting) {
            if ((s & kWriter) && r->__data.__cur_writer == id) return EDEADLK;
            rw.writers_waiting().fetch_add(1);  // before queueing: a preferring lock turns new readers away now
            waiting = true;
        }
        const api::Parked p = api::park(
            &r->__data.__writers, [](void* c) { return static_cast<Rw*>(c)->state().load() != 0; }, nullptr, &rw,
            deadline, "pthread_rwlock_wrlock", may_switch());
        if (p.result == api::ParkResult::timed_out) {
            if (rw.writers_waiting().fetch_sub(1) == 1 && rw.prefer_writers()) wake_readers(rw);  // no writer waits now
            return ETIMEDOUT;
        }
    }
}

int unlock(pthread_rwlock_t* r) noexcept {
    Rw rw{r};
    const unsigned s = rw.state().load();
    if (s & kWriter) {
        if (r->__data.__cur_writer != self_id()) return EPERM;
        r->__data.__cur_writer = 0;
        rw.state().store(0);  // seq_cst, as every access here: a reader queueing checks state after counting itself
        if (rw.prefer_writers() && rw.writers_waiting().load() != 0) {
            api::unpark(&r->__data.__writers, 1, 0, false);
            return 0;
        }
        wake_readers(rw);
        if (rw.writers_waiting().load() != 0) api::unpark(&r->__data.__writers, 1, 0, false);
        return 0;
    }
    if ((s & kReaders) == 0) return EPERM;
    if (rw.state().fetch_sub(1) == 1 && rw.writers_waiting().load() != 0)
        api::unpark(&r->__data.__writers, 1, 0, false);
    return 0;
}

int timed(int (*fn)(pthread_rwlock_t*, Deadline, bool), pthread_rwlock_t* r, clockid_t clock, const timespec* abstime) {
    Deadline deadline;
    if (!to_deadline(clock, abstime, deadline)) {
        const int got = fn(r, Deadline(), true);  // glibc looks at the time only when it would wait
        return got == EBUSY ? EINVAL : got;
    }
    return fn(r, deadline, false);
}

}  // namespace
}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_rwlock_rdlock(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_rdlock(r);
    return rdlock(r, Deadline(), false);
}

GREEN_HOOK int pthread_rwlock_tryrdlock(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_tryrdlock(r);
    const int e = rdlock(r, Deadline(), true);
    return e == EBUSY ? shim::without_waiting(e) : e;  // a loop of tries takes turns with the holder
}

GREEN_HOOK int pthread_rwlock_clockrdlock(pthread_rwlock_t* r, clockid_t clock, const timespec* abstime) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_clockrdlock(r, clock, abstime);
    return timed(rdlock, r, clock, abstime);
}

GREEN_HOOK int pthread_rwlock_timedrdlock(pthread_rwlock_t* r, const timespec* abstime) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_timedrdlock(r, abstime);
    return timed(rdlock, r, CLOCK_REALTIME, abstime);
}

GREEN_HOOK int pthread_rwlock_wrlock(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_wrlock(r);
    return wrlock(r, Deadline(), false);
}

GREEN_HOOK int pthread_rwlock_trywrlock(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_trywrlock(r);
    const int e = wrlock(r, Deadline(), true);
    return e == EBUSY ? shim::without_waiting(e) : e;
}

GREEN_HOOK int pthread_rwlock_clockwrlock(pthread_rwlock_t* r, clockid_t clock, const timespec* abstime) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_clockwrlock(r, clock, abstime);
    return timed(wrlock, r, clock, abstime);
}

GREEN_HOOK int pthread_rwlock_timedwrlock(pthread_rwlock_t* r, const timespec* abstime) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_timedwrlock(r, abstime);
    return timed(wrlock, r, CLOCK_REALTIME, abstime);
}

GREEN_HOOK int pthread_rwlock_unlock(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_unlock(r);
    return unlock(r);
}

GREEN_HOOK int pthread_rwlock_destroy(pthread_rwlock_t* r) noexcept {
    if (!ours(r)) return shim::real::pthread_rwlock_destroy(r);
    return 0;  // as glibc's: nothing to release
}
