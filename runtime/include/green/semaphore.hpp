// Semaphore and BoundedSemaphore (gevent.lock). Both satisfy Lockable, so
// std::lock_guard and std::unique_lock work with them.
//
// A release with greenlets waiting hands the unit straight to the longest waiter
// (FIFO, no barging), so a waiter woken that way owns it even if it is killed
// before it runs again: the kill then arrives at its next suspension point.
#pragma once

#include <chrono>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"

namespace green {

class GREEN_API Semaphore {
public:
    // `value` units available; negative throws std::invalid_argument.
    explicit Semaphore(long value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // Takes a unit, waiting while none is free; false when `timeout` runs out.
    // May switch; a kill or an expired Timeout throws here; must not be called
    // from the hub.
    bool acquire() { return acquire_for(detail::kForever); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return acquire_for(detail::to_seconds(timeout));
    }
    bool try_acquire() { return acquire_for(0); }
    // Returns a unit; never switches.
    void release();

    long counter() const noexcept { return counter_; }
    bool locked() const noexcept { return counter_ == 0; }

    void lock() { acquire(); }
    bool try_lock() { return try_acquire(); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return acquire(timeout);
    }
    void unlock() { release(); }

protected:
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
