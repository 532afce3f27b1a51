// pthread_spin_lock: a green thread that finds the lock taken lets the other
// greenlets of its carrier run (the holder may be one of them, parked) instead
// of spinning its carrier to no end. The lock word stays glibc's (on x86-64, 1
// is free): each try is glibc's own pthread_spin_trylock, and unlock is not
// interposed. A failed pthread_spin_trylock is where a green thread whose time
// slice is over lets the others run.
#include <cerrno>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "thread_state.hpp"

GREEN_HOOK int pthread_spin_trylock(pthread_spinlock_t* lock) noexcept {
    const int r = shim::real::pthread_spin_trylock(lock);
    return r == EBUSY ? shim::without_waiting(r) : r;  // a loop of tries takes turns with the holder
}

GREEN_HOOK int pthread_spin_lock(pthread_spinlock_t* lock) noexcept {
    if (!shim::threads::enabled() || !shim::may_park()) return shim::real::pthread_spin_lock(lock);
    while (shim::real::pthread_spin_trylock(lock) == EBUSY) {
        try {
            shim::threads::api::yield();
        } catch (...) {
            shim::threads::api::deliver_later(std::current_exception());
        }
    }
    return 0;
}
