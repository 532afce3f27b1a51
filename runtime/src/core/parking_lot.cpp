#include "core/parking_lot.hpp"

#include <time.h>

#include <atomic>
#include <cerrno>
#include <exception>

#include "base/raw_lock.hpp"
#include "base/sys.hpp"
#include "bridge/shim_api.hpp"
#include "core/hub.hpp"
#include "core/interrupt.hpp"
#include "green/detail/time.hpp"

namespace green::detail::lot {
namespace {

// One waiter, on its own stack for the time of park().
struct Waiting {
    Waiting* next = nullptr;        // in its bucket's FIFO
    const void* address = nullptr;
    GreenletCore* greenlet = nullptr;  // a parked greenlet of `hub`, or null: a sleeping thread
    Hub* hub = nullptr;
    std::atomic<std::uint32_t> done{0};  // a thread's wait: 1 once an unpark took it
    RemoteWake remote;                   // a greenlet's wake-up from elsewhere
    std::uintptr_t token = 0;            // written under the bucket lock by the unpark
    bool unparked = false;               // ditto
};

// Waiters hashed by address; each bucket one FIFO of every address that hashes there.
struct alignas(64) Bucket {
    RawLock lock;
    Waiting* head = nullptr;
    Waiting* tail = nullptr;

    void push(Waiting& w) noexcept {
        w.next = nullptr;
        (tail ? tail->next : head) = &w;
        tail = &w;
    }
    // Unlinks `w`, whose predecessor is `prev` (null: the head).
    void erase(Waiting* prev, Waiting& w) noexcept {
        (prev ? prev->next : head) = w.next;
        if (tail == &w) tail = prev;
        w.next = nullptr;
    }
    // Unlinks `w` if it is still queued; false if an unpark took it.
    bool remove(Waiting& w) noexcept {
        Waiting* prev = nullptr;
        for (Waiting* p = head; p; prev = p, p = p->next)
            if (p == &w) {
                erase(prev, w);
                return true;
            }
        return false;
    }
};

constexpr std::size_t kBuckets = 1024;
Bucket buckets[kBuckets];

// Bucket locks this thread holds: a signal handler that interrupted it there
// must not wait for one (sem_post defers its unpark instead).
thread_local int holding [[gnu::tls_model("initial-exec")]] = 0;

void lock(Bucket& b) noexcept {
    ++holding;
    b.lock.lock();
}

Bucket& bucket_for(const void* address) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(address);
    return buckets[((a >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - 10)];
}
static_assert(kBuckets == 1u << 10, "bucket_for shifts for 1024 buckets");

// Unparks a signal handler could not do at once because the thread it interrupted
// held that bucket's lock: done by that thread as it lets go of the lock. A slot
// is one word, the address above the count, so that taking it takes both: with
// two words, a handler could add to a count already taken, or to an address
// another thread's run_deferred was about to hand to a new one.
constexpr unsigned kCountBits = 16;
constexpr std::uint64_t kMaxCount = (1u << kCountBits) - 1;
static_assert(sizeof(void*) == 8, "a deferred slot packs a 48-bit address and a count in 64 bits");
constexpr std::size_t kDeferredSlots = 32;
std::atomic<std::uint64_t> deferred[kDeferredSlots];
std::atomic<unsigned> deferred_pending{0};

std::uint64_t slot_address(const void* address) noexcept { return reinterpret_cast<std::uintptr_t>(address) << kCountBits; }

void run_deferred(bool from_signal_handler) noexcept {
    while (deferred_pending.exchange(0, std::memory_order_acq_rel) != 0) {
        for (std::atomic<std::uint64_t>& d : deferred) {
            const std::uint64_t taken = d.exchange(0, std::memory_order_acq_rel);
            if (taken)
                unpark(reinterpret_cast<const void*>(taken >> kCountBits), taken & kMaxCount, 0, from_signal_handler);
        }
    }
}

// In a signal handler the deferred unparks run only if the code it interrupted
// holds no bucket, and they wake as a handler's do (never the hub's queues).
void unlock(Bucket& b, bool from_signal_handler = false) noexcept {
    b.lock.unlock();
    --holding;
    if (deferred_pending.load(std::memory_order_acquire) && (!from_signal_handler || holding == 0)) [[unlikely]]
        run_deferred(from_signal_handler);
}

// Async-signal-safe: remembers an unpark for the thread holding the lock.
void defer(const void* address, std::size_t count) noexcept {
    const std::uint64_t mine = slot_address(address);
    const std::uint64_t more = count > kMaxCount ? kMaxCount : count;
    for (;;) {
        for (std::atomic<std::uint64_t>& d : deferred) {
            std::uint64_t seen = d.load(std::memory_order_acquire);
            while (seen == 0 || (seen & ~kMaxCount) == mine) {
                const std::uint64_t n = (seen & kMaxCount) + more;
                if (d.compare_exchange_weak(seen, mine | (n > kMaxCount ? kMaxCount : n), std::memory_order_acq_rel)) {
                    deferred_pending.store(1, std::memory_order_release);
                    return;
                }
            }
        }
        // Every slot is busy with another address. Slots are taken only by
        // handlers whose own thread holds a bucket lock, a handful at most; the
        // loop is for the moment another thread's run_deferred frees one.
    }
}

// Hands `w` its wake-up; the bucket lock is no longer held.
void wake(Waiting& w, bool from_signal_handler) noexcept {
    if (!w.greenlet) {
        w.done.store(1, std::memory_order_release);
        sys::futex_wake(&w.done, 1);  // harmless if the waiter already left on seeing done
        return;
    }
    if (!from_signal_handler && w.hub == Hub::current_if_any()) {
        w.remote.delivered = true;
        // Itself, queued but not yet parked: its own park() ran a deferred
        // unpark as it let go of the bucket. It sees `delivered` and stays.
        if (w.greenlet != w.hub->running()) w.hub->wake(*w.greenlet, WakeReason::handoff);
        return;
    }
    w.remote.greenlet = w.greenlet;
    w.remote.reason = WakeReason::handoff;
    w.hub->post_wake(w.remote);  // after this, `w` may be gone at any moment
}

// A parked greenlet that must not be interrupted: it waits for the wake-up an
// unpark already sent it (the record on its stack must outlive the delivery).
void await_delivery(Hub& hub, Waiting& w) noexcept {
    GreenletCore& self = *w.greenlet;
    while (!w.remote.delivered) {
        const std::uint8_t held = hold_back(self);
        try {
            hub.park(nullptr, kForever, "a handover", w.address);
        } catch (...) {  // nothing can be pending; a LoopExit cannot happen while a wake-up is queued
        }
        restore(self, held);
    }
}

// After a greenlet's wait ended without a delivered unpark: leave the queue,
// or, if an unpark took it meanwhile, take what it handed over.
Parked leave(Bucket& b, Waiting& w, Hub& hub, ParkResult otherwise) noexcept {
    lock(b);
    const bool queued = !w.unparked && b.remove(w);
    unlock(b);
    if (queued) return {otherwise, 0};
    await_delivery(hub, w);
    return {ParkResult::unparked, w.token};
}

Parked wait_greenlet(Bucket& b, Waiting& w, Hub& hub, Deadline deadline, const char* what, bool signals_interrupt) {
    struct Count {
        Hub& hub;
        explicit Count(Hub& h) noexcept : hub(h) { hub.add_lot_waiter(); }
        ~Count() { hub.remove_lot_waiter(); }
    } count(hub);
    GreenletCore& self = *w.greenlet;
    // A kill or a green::Timeout does not interrupt a pthread wait: it waits for
    // the next suspension point outside (the lot serves the shim's pthread
    // objects, whose callers are C code). A cancellation does, inside a
    // cancellation point.
    const std::uint8_t kept = hold_back(self, pending_cancel);
    WakeReason reason = WakeReason::woken;
    std::exception_ptr cancel;
    try {
        if (!w.remote.delivered)
            reason = hub.park(signals_interrupt ? &hub.interruptible() : nullptr, deadline.remaining(), what, w.address);
    } catch (const shim_api::ThreadCancel&) {
        cancel = std::current_exception();
    } catch (...) {
        hub.interrupt_later(std::current_exception());
    }
    restore(self, kept);
    if (cancel) {
        // What an unpark handed over is still taken; the cancellation then
        // waits for the next cancellation point.
        const Parked p = leave(b, w, hub, ParkResult::interrupted);
        if (p.result != ParkResult::unparked) std::rethrow_exception(cancel);
        hub.interrupt_later(cancel);
        return p;
    }
    // `delivered` is written on this thread only, after the unpark set the token.
    if (w.remote.delivered) return {ParkResult::unparked, w.token};
    return leave(b, w, hub, reason == WakeReason::deadline ? ParkResult::timed_out : ParkResult::interrupted);
}

Parked wait_thread(Bucket& b, Waiting& w, Deadline deadline) noexcept {
    const bool timed = !deadline.forever();
    const timespec until = timed ? to_timespec(deadline.monotonic()) : timespec{};
    while (w.done.load(std::memory_order_acquire) == 0) {
        if (sys::futex_wait(&w.done, 0, timed ? &until : nullptr) == 0 || errno != ETIMEDOUT) continue;
        lock(b);
        const bool queued = !w.unparked && b.remove(w);
        unlock(b);
        if (queued) return {ParkResult::timed_out, 0};
        while (w.done.load(std::memory_order_acquire) == 0) sys::futex_wait(&w.done, 0, nullptr);
    }
    return {ParkResult::unparked, w.token};
}

std::size_t unpark_locked(Bucket& b, const void* address, std::size_t count, std::uintptr_t token,
                          bool from_signal_handler) noexcept {
    Waiting* taken = nullptr;
    Waiting** taken_tail = &taken;
    std::size_t n = 0;
    Waiting* prev = nullptr;
    for (Waiting* w = b.head; w && n < count;) {
        Waiting* next = w->next;
        if (w->address == address) {
            b.erase(prev, *w);
            w->unparked = true;
            w->token = token;
            *taken_tail = w;
            taken_tail = &w->next;
            ++n;
        } else {
            prev = w;
        }
        w = next;
    }
    unlock(b, from_signal_handler);
    while (taken) {
        Waiting* next = taken->next;  // read first: once woken, the record may go
        wake(*taken, from_signal_handler);
        taken = next;
    }
    return n;
}

}  // namespace

Parked park(const void* address, bool (*validate)(void*), void (*before_sleep)(void*), void* context,
            Deadline deadline, const char* what, bool may_switch, bool signals_interrupt) {
    Hub* hub = Hub::current_if_any();
    Waiting w;
    w.address = address;
    w.hub = hub;
    w.greenlet = hub && may_switch && hub->can_park() ? hub->running() : nullptr;
    Bucket& b = bucket_for(address);
    lock(b);
    if (!validate(context)) {
        unlock(b);
        return {ParkResult::invalid, 0};
    }
    b.push(w);
    unlock(b);
    if (before_sleep) before_sleep(context);
    return w.greenlet ? wait_greenlet(b, w, *hub, deadline, what, signals_interrupt) : wait_thread(b, w, deadline);
}

bool unpark_one(const void* address, std::uintptr_t (*decide)(void*, bool, bool), void* context,
                bool from_signal_handler) {
    Bucket& b = bucket_for(address);
    lock(b);
    Waiting* prev = nullptr;
    Waiting* w = b.head;
    while (w && w->address != address) prev = w, w = w->next;
    bool more = false;
    if (w)
        for (Waiting* p = w->next; p && !more; p = p->next) more = p->address == address;
    const std::uintptr_t token = decide(context, w != nullptr, more);
    if (w) {
        b.erase(prev, *w);
        w->unparked = true;
        w->token = token;
    }
    unlock(b, from_signal_handler);
    if (w) wake(*w, from_signal_handler);
    return w != nullptr;
}

std::size_t unpark(const void* address, std::size_t count, std::uintptr_t token, bool from_signal_handler) {
    Bucket& b = bucket_for(address);
    if (from_signal_handler && holding != 0) {
        defer(address, count);
        return 0;
    }
    lock(b);
    return unpark_locked(b, address, count, token, from_signal_handler);
}

void after_fork() noexcept {
    for (Bucket& b : buckets) {
        b.lock.reset();
        b.head = b.tail = nullptr;
    }
    for (std::atomic<std::uint64_t>& d : deferred) d.store(0, std::memory_order_relaxed);
    deferred_pending.store(0, std::memory_order_relaxed);
}

}  // namespace green::detail::lot
