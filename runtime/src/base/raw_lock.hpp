// A lock for the runtime's own short critical sections that never goes through
// libc: pthread mutexes are the shim's to interpose (thread patching), and a
// runtime lock must work the same from a greenlet, the hub's fiber, a plain
// thread and a signal handler's thread. It spins briefly, then sleeps on a
// futex; it never parks a greenlet, so it must only be held for a few
// instructions' worth of work, never across a switch.
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
        owner_.store(this_thread(), std::memory_order_relaxed);
    }
    bool try_lock() noexcept {
        std::uint32_t unlocked = 0;
        if (!state_.compare_exchange_strong(unlocked, 1, std::memory_order_acquire, std::memory_order_relaxed))
            return false;
        owner_.store(this_thread(), std::memory_order_relaxed);
        return true;
    }
    void unlock() noexcept {
        owner_.store(nullptr, std::memory_order_relaxed);
        if (state_.exchange(0, std::memory_order_release) == 2) wake_one();
    }
    // Whether this thread holds it: a signal handler must not wait for a lock the
    // code it interrupted holds.
    bool held_by_this_thread() const noexcept { return owner_.load(std::memory_order_relaxed) == this_thread(); }

    // In a forked child: whoever held it is gone.
    void reset() noexcept {
        state_.store(0, std::memory_order_relaxed);
        owner_.store(nullptr, std::memory_order_relaxed);
    }

private:
    static const void* this_thread() noexcept;
    void lock_slow() noexcept;
    void wake_one() noexcept;

    std::atomic<std::uint32_t> state_{0};  // 0 free, 1 held, 2 held and someone sleeps
    std::atomic<const void*> owner_{nullptr};
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
