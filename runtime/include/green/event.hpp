// Event: a flag greenlets can wait for (gevent.event.Event).
#pragma once

#include <chrono>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"

namespace green {

class GREEN_API Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    // Sets the flag and wakes every waiter; never switches.
    void set() noexcept;
    void clear() noexcept { flag_ = false; }
    bool is_set() const noexcept { return flag_; }

    // Waits until the flag is set; returns true, or false when `timeout` runs out
    // first. May switch; a kill or an expired Timeout throws here; must not be
    // called from the hub; destroying the Event under a waiter throws
    // std::logic_error in the waiter.
    bool wait() { return flag_ || wait_forever(); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_for(detail::to_seconds(timeout));
    }

private:
    bool wait_for(double timeout);
    bool wait_forever();

    bool flag_ = false;
    detail::WaitList waiters_;
};

}  // namespace green
