// Waiting for many greenlets: joinall, wait, iwait.
//
//   std::vector<green::Greenlet<std::string>> gs;
//   for (auto& url : urls) gs.push_back(green::spawn(fetch, url));
//   green::joinall(gs);                              // all done
//   for (green::AnyGreenlet g : green::iwait(gs))    // in completion order
//       ...
//
// Every function takes any range of handles (Greenlet<R> of mixed R through
// AnyGreenlet, or a braced list), may switch, and must not be called from the hub.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <vector>

#include "green/detail/config.hpp"
#include "green/detail/pull_iterator.hpp"
#include "green/detail/time.hpp"
#include "green/greenlet.hpp"

namespace green {

template <class R>
concept GreenletRange =
    std::ranges::input_range<R> && std::convertible_to<std::ranges::range_reference_t<R>, const AnyGreenlet&>;

// Yields the given greenlets as they finish (already finished ones first). With a
// timeout, iteration ends when it runs out. Keep the Iwait alive while iterating.
class GREEN_API Iwait {
public:
    Iwait(std::vector<AnyGreenlet> greenlets, double timeout);
    ~Iwait();
    Iwait(const Iwait&) = delete;
    Iwait& operator=(const Iwait&) = delete;

    // The next greenlet to finish, or an empty handle once all are yielded or the
    // timeout has passed. May switch.
    AnyGreenlet next();

    using iterator = detail::PullIterator<AnyGreenlet, Iwait>;
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const { return {}; }
    std::optional<AnyGreenlet> pull() {
        AnyGreenlet g = next();
        if (!g) return std::nullopt;
        return g;
    }

private:
    struct Node;
    static void on_done(detail::Waiter& w, detail::WakeReason) noexcept;

    std::vector<AnyGreenlet> greenlets_;
    std::unique_ptr<Node[]> nodes_;
    std::vector<std::size_t> done_;  // indices in completion order
    std::size_t next_done_ = 0;
    detail::Deadline deadline_;
    detail::GreenletCore* waiting_ = nullptr;
};

namespace detail {

template <GreenletRange R>
std::vector<AnyGreenlet> collect(R&& gs) {
    std::vector<AnyGreenlet> out;
    if constexpr (std::ranges::sized_range<R>) out.reserve(std::ranges::size(gs));
    for (const AnyGreenlet& g : gs) out.push_back(g);
    return out;
}

GREEN_API bool join_all(const std::vector<AnyGreenlet>& gs, double timeout, bool raise_error);
GREEN_API std::vector<AnyGreenlet> wait_some(std::vector<AnyGreenlet> gs, double timeout, std::size_t count);

}  // namespace detail

// Waits until every greenlet has finished or `timeout` has passed; returns whether
// all finished. With raise_error, rethrows the exception of the first greenlet to
// fail (in completion order), as soon as it fails.
template <GreenletRange R, class Rep = std::chrono::nanoseconds::rep, class Period = std::nano>
bool joinall(R&& gs, std::chrono::duration<Rep, Period> timeout = forever, bool raise_error = false) {
    return detail::join_all(detail::collect(gs), detail::to_seconds(timeout), raise_error);
}
template <class Rep = std::chrono::nanoseconds::rep, class Period = std::nano>
bool joinall(std::initializer_list<AnyGreenlet> gs, std::chrono::duration<Rep, Period> timeout = forever,
             bool raise_error = false) {
    return detail::join_all(std::vector<AnyGreenlet>(gs), detail::to_seconds(timeout), raise_error);
}

template <GreenletRange R, class Rep = std::chrono::nanoseconds::rep, class Period = std::nano>
Iwait iwait(R&& gs, std::chrono::duration<Rep, Period> timeout = forever) {
    return Iwait(detail::collect(gs), detail::to_seconds(timeout));
}

// Waits until `count` of the greenlets (all of them when count is 0) have finished
// or the timeout has passed; returns the finished ones in completion order.
template <GreenletRange R, class Rep = std::chrono::nanoseconds::rep, class Period = std::nano>
std::vector<AnyGreenlet> wait(R&& gs, std::chrono::duration<Rep, Period> timeout = forever, std::size_t count = 0) {
    return detail::wait_some(detail::collect(gs), detail::to_seconds(timeout), count);
}

}  // namespace green
