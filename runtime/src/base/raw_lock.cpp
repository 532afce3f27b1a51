#include "base/raw_lock.hpp"

#include "base/sys.hpp"

namespace green::detail {

void RawLock::lock_slow() noexcept {
    for (int spin = 0; spin < 100; ++spin) {
        std::uint32_t unlocked = 0;
        if (state_.load(std::memory_order_relaxed) == 0 &&
            state_.compare_exchange_weak(unlocked, 1, std::memory_order_acquire, std::memory_order_relaxed))
            return;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    // Drepper's "mutex2": a sleeper marks the lock 2 so the holder wakes it.
    while (state_.exchange(2, std::memory_order_acquire) != 0) sys::futex_wait(&state_, 2, nullptr);
}

void RawLock::wake_one() noexcept { sys::futex_wake(&state_, 1); }

}  // namespace green::detail
