// pthread_mutex_* and C11's mtx_* on glibc's pthread_mutex_t.
//
// __lock: bit 0 held, bit 1 someone may be parked on the mutex's address.
// __owner: the holder's id (thread_state.hpp's self_id) for the kinds that check
// it (recursive, error-checking, robust); __count: a recursive mutex's depth;
// __kind: glibc's own encoding (the static initialisers and pthread_mutex_init
// write it); __elision (unused by us otherwise): a robust mutex's consistency.
// Process-shared mutexes stay glibc's (another process uses glibc's protocol on
// them); priority-inheriting and -protecting ones are ours, as plain mutexes of
// their type (priorities mean nothing among the green threads of one carrier).
// An unlock with parked waiters hands the mutex to the longest waiter (FIFO,
// no barging), so a green thread that unlocks and locks again in a loop cannot
// starve the others of its carrier.
#include "mutex.hpp"

#include <threads.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstdint>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

// glibc's __kind bits (nptl/pthreadP.h).
constexpr int kKindMask = 3;
enum MutexType : int { kNormal = 0, kRecursive = 1, kErrorcheck = 2, kAdaptive = 3 };
constexpr int kRobust = 16;
// Priority inheritance (32) and protection (64) mean nothing among green threads
// of one carrier: those mutexes are ours too, as plain ones of their type.
// glibc sets bit 128 for process-shared mutexes and for every robust one (its
// futex must not be private); a robust one is process-shared only if
// pthread_mutex_init said so, which it marks in __spins (unused by robust ones).
constexpr int kShared = 128;
constexpr short kSharedMark = 0x5053;

constexpr int kHeld = 1, kParked = 2;
constexpr std::uintptr_t kHandoff = 1;  // unpark token: the mutex is yours

// A robust mutex's state, in __elision.
enum Robust : short { kConsistent = 0, kOwnerDied = 1, kNotRecoverable = 2 };

std::atomic_ref<int> word(pthread_mutex_t* m) noexcept { return std::atomic_ref<int>(m->__data.__lock); }

bool checks_owner(int kind) noexcept { return (kind & kKindMask) == kRecursive || (kind & kKindMask) == kErrorcheck || (kind & kRobust); }

// Robust mutexes held by each real thread; a green thread keeps its own list.
struct RealThreadRobust {
    pthread_mutex_t* head = nullptr;
    ~RealThreadRobust() { release_robust_mutexes(head); }
};
thread_local RealThreadRobust real_robust;

pthread_mutex_t*& robust_list() noexcept {
    GreenThread* t = current();
    return t ? t->robust : real_robust.head;
}

void link_robust(pthread_mutex_t* m) noexcept {
    pthread_mutex_t*& head = robust_list();
    m->__data.__list.__next = reinterpret_cast<__pthread_internal_list*>(head);
    head = m;
}

void unlink_robust(pthread_mutex_t* m) noexcept {
    for (pthread_mutex_t** p = &robust_list(); *p; p = reinterpret_cast<pthread_mutex_t**>(&(*p)->__data.__list.__next))
        if (*p == m) {
            *p = reinterpret_cast<pthread_mutex_t*>(m->__data.__list.__next);
            return;
        }
}

// The lock is ours: record it as the kind requires.
int acquired(pthread_mutex_t* m, int kind, int id) noexcept {
    if (checks_owner(kind)) {
        m->__data.__owner = id;
        m->__data.__count = 1;
    }
    if (kind & kRobust) {
        link_robust(m);
        if (m->__data.__elision == kOwnerDied) return EOWNERDEAD;
    }
    return 0;
}

std::uintptr_t hand_over(void* mutex, bool found, bool more) {
    auto w = word(static_cast<pthread_mutex_t*>(mutex));
    if (!found) {
        w.store(0, std::memory_order_release);
        return 0;
    }
    w.store(more ? kHeld | kParked : kHeld, std::memory_order_relaxed);  // stays held: the waiter owns it now
    return kHandoff;
}

// Lets go of the lock word: to nobody, or to the longest waiter.
void release(pthread_mutex_t* m) noexcept {
    int held = kHeld;
    if (word(m).compare_exchange_strong(held, 0, std::memory_order_release, std::memory_order_relaxed)) return;
    api::unpark_one(m, hand_over, m);
}

int lock_slow(pthread_mutex_t* m, Deadline deadline) {
    auto w = word(m);
    for (;;) {
        int s = w.load(std::memory_order_relaxed);
        if (!(s & kHeld)) {
            if (w.compare_exchange_weak(s, s | kHeld, std::memory_order_acquire, std::memory_order_relaxed)) return 0;
            continue;
        }
        if (!(s & kParked) && !w.compare_exchange_weak(s, s | kParked, std::memory_order_relaxed)) continue;
        const api::Parked p = api::park(
            m,
            [](void* c) {
                return word(static_cast<pthread_mutex_t*>(c)).load(std::memory_order_relaxed) == (kHeld | kParked);
            },
            nullptr, m, deadline, "pthread_mutex_lock", may_switch());
        if (p.result == api::ParkResult::unparked && p.token == kHandoff) return 0;
        if (p.result == api::ParkResult::timed_out) return ETIMEDOUT;
        // Otherwise look again: the holder let go before we queued, or a
        // pthread_cancel woke us (a mutex wait is not a cancellation point).
    }
}

int lock(pthread_mutex_t* m, Deadline deadline, bool try_only) {
    const int kind = m->__data.__kind;
    if (kind < 0) return EINVAL;  // destroyed
    int id = 0;
    if (checks_owner(kind)) {
        id = self_id();
        if (m->__data.__owner == id && (word(m).load(std::memory_order_relaxed) & kHeld)) {
            if ((kind & kKindMask) == kRecursive) {
                if (m->__data.__count == UINT_MAX) return EAGAIN;
                ++m->__data.__count;
                return 0;
            }
            if ((kind & kKindMask) == kErrorcheck) return try_only ? EBUSY : EDEADLK;
        }
        if ((kind & kRobust) && m->__data.__elision == kNotRecoverable) return ENOTRECOVERABLE;
    }
    int unlocked = 0;
    if (!word(m).compare_exchange_strong(unlocked, kHeld, std::memory_order_acquire, std::memory_order_relaxed)) {
        if (try_only) return EBUSY;
        if (const int r = lock_slow(m, deadline)) return r;
        if ((kind & kRobust) && m->__data.__elision == kNotRecoverable) {
            release(m);
            return ENOTRECOVERABLE;
        }
    }
    return acquired(m, kind, id);
}

int c11_status(int error) noexcept {
    switch (error) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    default: return thrd_error;
    }
}

bool ours(const pthread_mutex_t* m) noexcept { return enabled() && !glibc_mutex(m); }

// A process-shared mutex is glibc's, and another process's unlock wakes only
// the kernel's waiters: a green thread takes it with trylock, pausing between
// tries (0.5 ms growing to 10 ms) instead of blocking its carrier. Returns
// glibc's result, or ETIMEDOUT once `deadline` passed.
int lock_shared(pthread_mutex_t* m, Deadline deadline) {
    for (double pause = 0.0005;; pause = std::min(pause * 2, 0.01)) {
        const int r = real::pthread_mutex_trylock(m);
        if (r != EBUSY) return r;
        if (deadline.passed()) return ETIMEDOUT;
        api::park(m, [](void*) { return true; }, nullptr, nullptr, earliest(deadline, Deadline::after(pause)),
                  "pthread_mutex_lock (process-shared)", true);
    }
}

bool green_waits_for_shared(const pthread_mutex_t* m) noexcept { return enabled() && glibc_mutex(m) && may_switch(); }

}  // namespace

bool glibc_mutex(const pthread_mutex_t* m) noexcept {
    const int kind = m->__data.__kind;
    return kind > 0 && (kind & kShared) && (!(kind & kRobust) || m->__data.__spins == kSharedMark);
}

int lock_mutex(pthread_mutex_t* m, Deadline deadline) {
    if (glibc_mutex(m)) return may_switch() ? lock_shared(m, deadline) : real::pthread_mutex_lock(m);
    return lock(m, deadline, false);
}

int check_owner(const pthread_mutex_t* m) noexcept {
    const int kind = m->__data.__kind;
    if (glibc_mutex(m) || !checks_owner(kind)) return 0;
    const bool held = std::atomic_ref<const int>(m->__data.__lock).load(std::memory_order_relaxed) & kHeld;
    return held && m->__data.__owner == self_id() ? 0 : EPERM;
}

int unlock_mutex(pthread_mutex_t* m) noexcept {
    if (glibc_mutex(m)) return real::pthread_mutex_unlock(m);
    const int kind = m->__data.__kind;
    if (kind < 0) return EINVAL;
    if (checks_owner(kind)) {
        if (const int r = check_owner(m)) return r;
        if ((kind & kKindMask) == kRecursive && --m->__data.__count != 0) return 0;
        m->__data.__owner = 0;
        if (kind & kRobust) {
            unlink_robust(m);
            if (m->__data.__elision == kOwnerDied) {
                // Unlocked without pthread_mutex_consistent: nobody may use it again.
                m->__data.__elision = kNotRecoverable;
                word(m).store(0, std::memory_order_release);
                api::unpark(m, SIZE_MAX, 0, false);
                return 0;
            }
        }
    }
    release(m);
    return 0;
}

void release_robust_mutexes(pthread_mutex_t*& head) noexcept {
    while (pthread_mutex_t* m = head) {
        head = reinterpret_cast<pthread_mutex_t*>(m->__data.__list.__next);
        m->__data.__owner = 0;
        m->__data.__elision = kOwnerDied;  // the next owner gets EOWNERDEAD
        release(m);
    }
}

}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) noexcept {
    const int r = shim::real::pthread_mutex_init(m, attr);
    int shared = PTHREAD_PROCESS_PRIVATE;
    if (r == 0 && attr && pthread_mutexattr_getpshared(attr, &shared) == 0 && shared == PTHREAD_PROCESS_SHARED &&
        (m->__data.__kind & kRobust))
        m->__data.__spins = kSharedMark;
    return r;
}

GREEN_HOOK int pthread_mutex_lock(pthread_mutex_t* m) noexcept {
    if (green_waits_for_shared(m)) return lock_shared(m, Deadline());
    if (!ours(m)) return shim::real::pthread_mutex_lock(m);
    return lock(m, Deadline(), false);
}

GREEN_HOOK int pthread_mutex_trylock(pthread_mutex_t* m) noexcept {
    if (!ours(m)) return shim::real::pthread_mutex_trylock(m);
    const int r = lock(m, Deadline(), true);
    return r == EBUSY ? shim::without_waiting(r) : r;  // a loop of tries takes turns with the holder
}

GREEN_HOOK int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const timespec* abstime) noexcept {
    Deadline deadline;
    if (green_waits_for_shared(m) && to_deadline(clock, abstime, deadline)) return lock_shared(m, deadline);
    if (!ours(m)) return shim::real::pthread_mutex_clocklock(m, clock, abstime);
    if (!to_deadline(clock, abstime, deadline)) {
        const int r = lock(m, Deadline(), true);  // glibc looks at the time only when it would wait
        return r == EBUSY ? EINVAL : r;
    }
    return lock(m, deadline, false);
}

GREEN_HOOK int pthread_mutex_timedlock(pthread_mutex_t* m, const timespec* abstime) noexcept {
    if (!ours(m) && !green_waits_for_shared(m)) return shim::real::pthread_mutex_timedlock(m, abstime);
    return pthread_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

GREEN_HOOK int pthread_mutex_unlock(pthread_mutex_t* m) noexcept {
    if (!ours(m)) return shim::real::pthread_mutex_unlock(m);
    return unlock_mutex(m);
}

GREEN_HOOK int pthread_mutex_destroy(pthread_mutex_t* m) noexcept {
    if (!ours(m)) return shim::real::pthread_mutex_destroy(m);
    if (std::atomic_ref<int>(m->__data.__lock).load(std::memory_order_relaxed) & 1) return EBUSY;
    m->__data.__kind = -1;  // as glibc marks it: a later lock fails with EINVAL
    return 0;
}

GREEN_HOOK int pthread_mutex_consistent(pthread_mutex_t* m) noexcept {
    if (!ours(m)) return shim::real::pthread_mutex_consistent(m);
    if (!(m->__data.__kind & 16) || m->__data.__elision != 1 || m->__data.__owner != self_id()) return EINVAL;
    m->__data.__elision = 0;
    return 0;
}

// pthread.h redirects this name to pthread_mutex_consistent; older binaries still reference it.
GREEN_HOOK int consistent_np(pthread_mutex_t* m) noexcept __asm__("pthread_mutex_consistent_np");
GREEN_HOOK int consistent_np(pthread_mutex_t* m) noexcept { return pthread_mutex_consistent(m); }

// The exported aliases old binaries may still reference.
GREEN_HOOK int __pthread_mutex_lock(pthread_mutex_t* m) noexcept { return pthread_mutex_lock(m); }
GREEN_HOOK int __pthread_mutex_trylock(pthread_mutex_t* m) noexcept { return pthread_mutex_trylock(m); }
GREEN_HOOK int __pthread_mutex_unlock(pthread_mutex_t* m) noexcept { return pthread_mutex_unlock(m); }
GREEN_HOOK int __pthread_mutex_destroy(pthread_mutex_t* m) noexcept { return pthread_mutex_destroy(m); }

// C11: mtx_t is a pthread_mutex_t (glibc's mtx_init gives it the kind). The C11
// hooks are declared as <threads.h> declares them, without noexcept (clang
// refuses a mismatch).
GREEN_HOOK int mtx_lock(mtx_t* m) {
    if (!enabled()) return shim::real::mtx_lock(m);
    return c11_status(pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREEN_HOOK int mtx_trylock(mtx_t* m) {
    if (!enabled()) return shim::real::mtx_trylock(m);
    return c11_status(pthread_mutex_trylock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREEN_HOOK int mtx_timedlock(mtx_t* __restrict m, const timespec* __restrict abstime) {
    if (!enabled()) return shim::real::mtx_timedlock(m, abstime);
    return c11_status(pthread_mutex_timedlock(reinterpret_cast<pthread_mutex_t*>(m), abstime));
}

GREEN_HOOK int mtx_unlock(mtx_t* m) {
    if (!enabled()) return shim::real::mtx_unlock(m);
    return c11_status(pthread_mutex_unlock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREEN_HOOK void mtx_destroy(mtx_t* m) {
    if (!enabled()) return shim::real::mtx_destroy(m);
    pthread_mutex_destroy(reinterpret_cast<pthread_mutex_t*>(m));
}
