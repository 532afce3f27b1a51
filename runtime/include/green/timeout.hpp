// Timeout: a deadline for whatever the current greenlet does inside a scope.
//
//   try {
//       green::Timeout t(2s);
//       auto reply = conn.recv(...);   // TimeoutError if the 2 s run out while waiting
//   } catch (const green::TimeoutError& e) { if (e.source() == ...) ... }
//
// Expiry throws TimeoutError (whose source() is the expired Timeout) inside the
// owning greenlet at its current or next suspension point, even while it is
// parked; nested timeouts work, whichever expires first fires. Leaving the scope
// (or cancel()) disarms it.
#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"
#include "green/detail/watcher_slot.hpp"
#include "green/errors.hpp"

namespace green {

class GREEN_API Timeout {
public:
    // A Timeout that never expires.
    Timeout() noexcept = default;
    // Arms a deadline `d` from now for the calling greenlet; negative throws
    // std::invalid_argument; green::forever never expires.
    template <class Rep, class Period>
    explicit Timeout(std::chrono::duration<Rep, Period> d) {
        arm(detail::to_seconds(d));
    }
    ~Timeout() { cancel(); }
    Timeout(const Timeout&) = delete;
    Timeout& operator=(const Timeout&) = delete;

    // Disarms it; an expiry not yet thrown is discarded.
    void cancel() noexcept;
    // Whether it has fired.
    bool expired() const noexcept { return expired_; }

private:
    void arm(double seconds);
    static void on_expiry(void* self);

    detail::WatcherSlot timer_;
    detail::GreenletCore* owner_ = nullptr;
    bool expired_ = false;
};

// Runs f(args...) in the calling greenlet under a Timeout of `d`.
template <class Rep, class Period, class F, class... A>
decltype(auto) with_timeout(std::chrono::duration<Rep, Period> d, F&& f, A&&... args) {
    Timeout t(d);
    return std::invoke(std::forward<F>(f), std::forward<A>(args)...);
}

}  // namespace green
