// The parking lot: waiting on an address, for every kind of waiter.
//
// What the shim's pthread objects (mutex, cond, rwlock, semaphore, barrier,
// once, join, futex) are built on, so that a green thread parks, a plain OS
// thread sleeps in the kernel, and a wake-up reaches either kind, on this hub,
// another hub or no hub at all. The objects themselves keep only a word or two
// of state in their glibc layout; who waits lives here, in a hash table of
// buckets keyed by address (the idea of WebKit's ParkingLot).
//
// Contract:
//   - park() queues the caller on `address` only if validate() (run under the
//     bucket's lock) says so, then runs before_sleep() (e.g. unlock a mutex)
//     and waits. Because validation and queueing are one step under the lock, an
//     unpark that follows the state change validate() saw is never lost.
//   - An unpark takes waiters in FIFO order per address and hands each a token.
//     A waiter that was unparked always learns it (ParkResult::unparked with the
//     token), even when its deadline passed or it was interrupted meanwhile:
//     nothing handed over is ever lost.
//   - A greenlet (not the hub's fiber) parks in its hub; anything else (a plain
//     thread, the hub's fiber, a thread without a hub) blocks on a futex.
//     Unparking a greenlet of another hub, or from a signal handler, goes
//     through that hub's remote-wake queue (lock-free) and its async watcher.
//   - Bucket locks are held for a few instructions and never across a switch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "green/detail/time.hpp"

namespace green::detail::lot {

enum class ParkResult : std::uint8_t {
    unparked,     // an unpark took this waiter; the token is what it handed over
    invalid,      // validate() said no: the caller never waited
    timed_out,    // the deadline passed first
    interrupted,  // a greenlet woken by something else (a kill, pthread_cancel)
};

struct Parked {
    ParkResult result;
    std::uintptr_t token;  // meaningful when unparked
};

// `deadline`: when to stop waiting (Deadline(): never). `what` describes
// the wait for dump(). validate and before_sleep run on the caller's stack;
// before_sleep may be null, and must not switch greenlets: the caller is queued
// by then, and an unpark that found it not yet parked would be lost (nothing the
// runtime calls there may take a turn: see RuntimeScope). `may_switch` false
// makes even a greenlet sleep on a futex (a call from a signal handler). A kill
// or a green::Timeout does not interrupt the wait (it is thrown at the
// greenlet's next suspension point outside); a pthread cancellation inside a cancellation point does: it is
// thrown (shim_api::ThreadCancel) after the waiter left the queue. With
// `signals_interrupt`, a greenlet's wait also ends (ParkResult::interrupted)
// when a signal handler runs on its thread (Hub::note_signal), as a semaphore
// wait's futex does in the kernel.
Parked park(const void* address, bool (*validate)(void*), void (*before_sleep)(void*), void* context,
            Deadline deadline, const char* what, bool may_switch = true, bool signals_interrupt = false);

// Unparks the longest waiter on `address`, if any. decide(context, found,
// more) runs under the bucket lock either way (found: a waiter is being
// unparked; more: others wait on the address after it) and returns the token
// for the waiter; it may change the object's state in the same step (clear a
// "has waiters" bit). Returns whether a waiter was unparked.
bool unpark_one(const void* address, std::uintptr_t (*decide)(void* context, bool found, bool more),
                void* context, bool from_signal_handler = false);

// Unparks up to `count` waiters on `address` (SIZE_MAX: all), handing each
// `token`; returns how many. The one entry that is async-signal-safe with
// `from_signal_handler` (sem_post): if the interrupted code of this thread holds
// the bucket's lock, the unpark is left for it to do as it lets go (returns 0).
std::size_t unpark(const void* address, std::size_t count, std::uintptr_t token, bool from_signal_handler = false);

// In a forked child: every waiter belongs to a thread or greenlet that is gone.
void after_fork() noexcept;

}  // namespace green::detail::lot
