// Lock and RLock: mutual exclusion between greenlets of one thread, owned by the
// greenlet that acquired them (usable with std::lock_guard / std::unique_lock).
//
// Misuse is an error, not a hang: re-acquiring a Lock you hold, or releasing a
// Lock or RLock you do not hold, throws std::logic_error and changes nothing.
// A release with waiters hands ownership to the longest waiter (FIFO).
#pragma once

#include <chrono>
#include <cstddef>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"

namespace green {

namespace detail {

// Ownership and FIFO handoff shared by Lock and RLock.
class GREEN_API OwnedLock {
public:
    OwnedLock() = default;
    ~OwnedLock();
    OwnedLock(const OwnedLock&) = delete;
    OwnedLock& operator=(const OwnedLock&) = delete;

    bool locked() const noexcept { return owner_ != nullptr; }

protected:
    // Waits for ownership (the caller checked it is not the owner). May switch.
    bool take(GreenletCore& self, double timeout, const char* what);
    // Passes ownership to the next waiter, or frees the lock.
    void hand_on() noexcept;
    void set_owner(GreenletCore* g) noexcept;

    GreenletCore* owner_ = nullptr;  // retained while it owns the lock
    WaitList waiters_;
};

}  // namespace detail

class GREEN_API Lock : public detail::OwnedLock {
public:
    // Takes the lock, waiting while another greenlet holds it; false when `timeout`
    // runs out. May switch; a kill or an expired Timeout throws here.
    bool acquire() { return acquire_for(detail::kForever); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return acquire_for(detail::to_seconds(timeout));
    }
    void release();

    void lock() { acquire(); }
    bool try_lock() { return acquire_for(0); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return acquire(timeout);
    }
    void unlock() { release(); }

private:
    bool acquire_for(double timeout);
};

// A lock its owner may take again; it is free once released as often as taken.
class GREEN_API RLock : public detail::OwnedLock {
public:
    bool acquire() { return acquire_for(detail::kForever); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return acquire_for(detail::to_seconds(timeout));
    }
    void release();

    void lock() { acquire(); }
    bool try_lock() { return acquire_for(0); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return acquire(timeout);
    }
    void unlock() { release(); }

    std::size_t depth() const noexcept { return depth_; }

private:
    bool acquire_for(double timeout);
    std::size_t depth_ = 0;
};

}  // namespace green
