// A lock for the runtime's own short critical sections that never goes through
// libc: pthread mutexes are the shim's to interpose (thread patching), and a
// runtime lock must work the same from a greenlet, the hub's fiber and a plain
// thread. It spins briefly, then sleeps on a futex; it never parks a greenlet,
// so it must only be held for a few instructions' worth of work, never across
// a switch, and never taken in a signal handler that may have interrupted its
// holder.
#pragma once

#include <atomic>
#include <cstdint>

namespace green::detail {

class RawLock {
public:
    void lock() noexcept {
        std::uint32_t unlocked = 0;
        if (!state_.compare_exchange_strong(unlocked, 1, std::memory_order_acquire, std::memory_order_relaxed))
            lock_slow();
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) wake_one();
    }

    // In a forked child: whoever held it is gone.
    void reset() noexcept { state_.store(0, std::memory_order_relaxed); }

private:
    void lock_slow() noexcept;
    void wake_one() noexcept;

    std::atomic<std::uint32_t> state_{0};  // 0 free, 1 held, 2 held and someone sleeps
};

class RawLockGuard {
public:
    explicit RawLockGuard(RawLock& lock) noexcept : lock_(lock) { lock_.lock(); }
    ~RawLockGuard() { lock_.unlock(); }
    RawLockGuard(const RawLockGuard&) = delete;
    RawLockGuard& operator=(const RawLockGuard&) = delete;

private:
    RawLock& lock_;
};

}  // namespace green::detail
