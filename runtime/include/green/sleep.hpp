// Cooperative sleeping and yielding.
#pragma once

#include <chrono>

#include "green/detail/config.hpp"
#include "green/detail/time.hpp"

namespace green {

namespace detail {
GREEN_API void sleep_for(double seconds);
}

// Suspends the calling greenlet for `d` while others run; sleep(0s) is yield().
// May switch; wakes when the time is up; a kill or an expired Timeout throws here;
// must not be called from the hub; a negative duration throws std::invalid_argument.
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d) {
    detail::sleep_for(detail::to_seconds(d));
}

// Lets every other ready greenlet run once, then continues (gevent.sleep(0)).
GREEN_API void yield();

}  // namespace green
