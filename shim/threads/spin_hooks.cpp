// pthread_spin_lock: a green thread that finds the lock taken lets the other
// greenlets of its carrier run (the holder may be one of them, parked) instead
// of spinning its carrier to no end. trylock and unlock stay glibc's.
#include <atomic>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "thread_state.hpp"

GREEN_HOOK int pthread_spin_lock(pthread_spinlock_t* lock) noexcept {
    if (!shim::threads::enabled() || !shim::may_park()) return shim::real::pthread_spin_lock(lock);
    std::atomic_ref<int> word(*const_cast<int*>(lock));
    for (;;) {
        int free = 0;
        if (word.compare_exchange_weak(free, 1, std::memory_order_acquire, std::memory_order_relaxed)) return 0;
        try {
            shim::threads::api::yield();
        } catch (...) {
            shim::threads::api::deliver_later(std::current_exception());
        }
    }
}
