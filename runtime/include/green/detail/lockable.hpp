// The Lockable face (acquire with or without a timeout, lock, try_lock,
// try_lock_for, unlock) shared by Lock, RLock and Semaphore, built on the two
// operations each of them defines: acquire_for(seconds) and release().
#pragma once

#include <chrono>

#include "green/detail/time.hpp"

namespace green::detail {

template <class Derived>
class Lockable {
public:
    // Waits until acquired; false when `timeout` runs out. May switch; a kill or
    // an expired Timeout throws here; must not be called from the hub.
    bool acquire() { return self().acquire_for(kForever); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return self().acquire_for(to_seconds(timeout));
    }

    void lock() { acquire(); }
    bool try_lock() { return self().acquire_for(0); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return acquire(timeout);
    }
    void unlock() { self().release(); }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace green::detail
