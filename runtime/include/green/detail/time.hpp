// Time as the runtime and the shim count it, in one place: a timeout is seconds
// as a double (kForever: none); a Deadline is a point on the monotonic clock
// (CLOCK_MONOTONIC, which std::chrono::steady_clock reads on Linux). Durations
// from std::chrono, timespec and timeval are converted here and nowhere else.
#pragma once

#include <sys/time.h>

#include <chrono>
#include <ctime>
#include <limits>

#include "green/detail/config.hpp"

namespace green {

// A duration meaning "no timeout", for arguments that come before others
// (joinall(gs, green::forever, true)).
inline constexpr std::chrono::nanoseconds forever = std::chrono::nanoseconds::max();

namespace detail {

// The one "no timeout, no deadline" value.
inline constexpr double kForever = std::numeric_limits<double>::infinity();

[[noreturn]] GREEN_API void throw_negative_timeout();

// Seconds as a double, kForever for a maximal duration; negative is an error.
template <class Rep, class Period>
double to_seconds(std::chrono::duration<Rep, Period> d) {
    if (d == std::chrono::duration<Rep, Period>::max()) return kForever;
    if (d < std::chrono::duration<Rep, Period>::zero()) throw_negative_timeout();
    return std::chrono::duration<double>(d).count();
}

inline double to_seconds(const timespec& t) noexcept { return double(t.tv_sec) + double(t.tv_nsec) / 1e9; }
inline double to_seconds(const timeval& t) noexcept { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }

// Whether the kernel accepts `t` as a duration (EINVAL otherwise).
inline bool valid(const timespec& t) noexcept { return t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000L; }

// Finite seconds (negative counts as 0) as a timespec or timeval, rounded down.
inline timespec to_timespec(double s) noexcept {
    if (!(s > 0)) return {};
    const auto whole = static_cast<time_t>(s);
    const auto ns = static_cast<long>((s - double(whole)) * 1e9);
    return {whole, ns < 1000000000L ? ns : 999999999L};
}
inline timeval to_timeval(double s) noexcept {
    if (!(s > 0)) return {};
    const auto whole = static_cast<time_t>(s);
    const auto us = static_cast<suseconds_t>((s - double(whole)) * 1e6);
    return {whole, us < 1000000 ? us : 999999};
}

// An absolute deadline on the monotonic clock, or none. Every wait that spans
// several parks (retries, a sequence of joins) counts down from one of these.
class Deadline {
public:
    // No deadline.
    constexpr Deadline() noexcept = default;
    // `seconds` from now: kForever for none; 0 or less for "do not wait at all".
    static Deadline after(double seconds) noexcept {
        Deadline d;
        if (seconds == kForever) return d;
        d.at_ = seconds > 0 ? now() + seconds : 0;
        return d;
    }
    // At `seconds` on the monotonic clock (kForever: none).
    static Deadline at_monotonic(double seconds) noexcept {
        Deadline d;
        d.at_ = seconds;
        return d;
    }
    // Created with a timeout of zero: the caller should not wait at all.
    bool never_wait() const noexcept { return at_ == 0; }
    bool forever() const noexcept { return at_ == kForever; }
    // Seconds left (0 once passed), kForever without a deadline.
    double remaining() const noexcept {
        if (at_ == kForever) return kForever;
        const double left = at_ - now();
        return left > 0 ? left : 0;
    }
    bool passed() const noexcept { return remaining() == 0; }
    // When it passes, in seconds on the monotonic clock (kForever: never).
    double monotonic() const noexcept { return at_; }
    // The earlier of the two.
    friend Deadline earliest(Deadline a, Deadline b) noexcept { return a.at_ <= b.at_ ? a : b; }

    // Seconds on the monotonic clock.
    static double now() noexcept {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

private:
    double at_ = kForever;
};

}  // namespace detail
}  // namespace green
