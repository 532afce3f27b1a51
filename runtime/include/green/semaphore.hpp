// Semaphore and BoundedSemaphore (gevent.lock). Both satisfy Lockable, so
// std::lock_guard and std::unique_lock work with them.
//
// A release with greenlets waiting hands the unit straight to the longest waiter
// (FIFO, no barging), so a waiter woken that way owns it even if it is killed
// before it runs again: the kill then arrives at its next suspension point.
#pragma once

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/lockable.hpp"

namespace green {

class GREEN_API Semaphore : public detail::Lockable<Semaphore> {
public:
    // `value` units available; negative throws std::invalid_argument.
    explicit Semaphore(long value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // acquire() takes a unit, waiting while none is free.
    bool try_acquire() { return acquire_for(0); }
    // Returns a unit; never switches.
    void release();

    long counter() const noexcept { return counter_; }
    bool locked() const noexcept { return counter_ == 0; }

protected:
    friend class detail::Lockable<Semaphore>;
    bool acquire_for(double timeout);

    long counter_;
    detail::WaitList waiters_;
};

// A Semaphore that refuses to be released above its initial value: an extra
// release() throws std::logic_error and changes nothing.
class GREEN_API BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(long value = 1);
    void release();
    void unlock() { release(); }

private:
    long initial_;
};

}  // namespace green
