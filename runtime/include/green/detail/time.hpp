// Conversion of std::chrono durations to the runtime's timeout representation.
#pragma once

#include <chrono>
#include <limits>

#include "green/detail/config.hpp"

namespace green {

// A duration meaning "no timeout", for arguments that come before others
// (joinall(gs, green::forever, true)).
inline constexpr std::chrono::nanoseconds forever = std::chrono::nanoseconds::max();

namespace detail {

inline constexpr double kForever = std::numeric_limits<double>::infinity();

[[noreturn]] GREEN_API void throw_negative_timeout();

// Seconds as a double, kForever for a maximal duration; negative is an error.
template <class Rep, class Period>
double to_seconds(std::chrono::duration<Rep, Period> d) {
    if (d == std::chrono::duration<Rep, Period>::max()) return kForever;
    if (d < std::chrono::duration<Rep, Period>::zero()) throw_negative_timeout();
    return std::chrono::duration<double>(d).count();
}

}  // namespace detail
}  // namespace green
