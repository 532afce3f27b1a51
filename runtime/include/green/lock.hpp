// Lock and RLock: mutual exclusion between greenlets of one thread, owned by the
// greenlet that acquired them (usable with std::lock_guard / std::unique_lock).
//
// Misuse is an error, not a hang: re-acquiring a Lock you hold, or releasing a
// Lock or RLock you do not hold, throws std::logic_error and changes nothing.
// A release with waiters hands ownership to the longest waiter (FIFO).
#pragma once

#include <cstddef>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/lockable.hpp"

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

class GREEN_API Lock : public detail::OwnedLock, public detail::Lockable<Lock> {
public:
    // acquire() takes the lock, waiting while another greenlet holds it.
    void release();

private:
    friend class detail::Lockable<Lock>;
    bool acquire_for(double timeout);
};

// A lock its owner may take again; it is free once released as often as taken.
class GREEN_API RLock : public detail::OwnedLock, public detail::Lockable<RLock> {
public:
    void release();

    std::size_t depth() const noexcept { return depth_; }

private:
    friend class detail::Lockable<RLock>;
    bool acquire_for(double timeout);
    std::size_t depth_ = 0;
};

}  // namespace green
