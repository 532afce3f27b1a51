// Greenlets: spawn a function on its own stack, join it, get its result, kill it.
//
//   auto g = green::spawn(fetch, url);      // Greenlet<std::string>
//   std::string body = g.get();             // waits; rethrows fetch's exception
//
// Handles are cheap shared references (copy them freely) that belong to the
// thread that spawned the greenlet.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"
#include "green/errors.hpp"

namespace green {

// Per-spawn settings: spawn(SpawnOptions{.name = "poller", .stack_size = 256 << 10}, f).
struct SpawnOptions {
    std::string name = {};       // shown in failure reports and dump(); default "Greenlet-<id>"
    std::size_t stack_size = 0;  // bytes, 16 KiB .. 1 GiB; 0 means GREEN_STACK_SIZE or 128 KiB
};

namespace detail {
GREEN_API void start(GreenletCore& g, SpawnOptions& options);
GREEN_API void start_later(GreenletCore& g, SpawnOptions& options, double delay);
GREEN_API bool join(GreenletCore& g, double timeout);
GREEN_API void join_for_result(GreenletCore& g, double timeout);
GREEN_API void kill(GreenletCore& g, std::exception_ptr e, bool block, double timeout);
GREEN_API void add_link(GreenletCore& g, std::function<void()> fn);
GREEN_API std::string name_of(const GreenletCore& g);
[[noreturn]] GREEN_API void throw_empty_handle();
}  // namespace detail

// A handle to a greenlet of any result type: what joinall, iwait, Group and link
// callbacks deal in. Greenlet<R> adds the typed get().
class AnyGreenlet {
public:
    AnyGreenlet() noexcept = default;  // an empty handle; every operation on it throws std::logic_error
    AnyGreenlet(const AnyGreenlet& o) noexcept : core_(o.core_) {
        if (core_) detail::retain(core_);
    }
    AnyGreenlet(AnyGreenlet&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    AnyGreenlet& operator=(AnyGreenlet o) noexcept {
        std::swap(core_, o.core_);
        return *this;
    }
    ~AnyGreenlet() {
        if (core_) detail::release(core_);
    }

    // Waits until the greenlet has finished (forever, or for `timeout`); returns
    // whether it has. May switch. Throws std::logic_error when a greenlet joins itself.
    bool join() const { return detail::join(core(), detail::kForever); }
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) const {
        return detail::join(core(), detail::to_seconds(timeout));
    }

    // Throws GreenletExit (or `e`) inside the greenlet at its suspension point so its
    // destructors run; a greenlet that has not started never runs. With `block`, waits
    // (up to `timeout`) for it to end. Killing the current greenlet throws at once.
    void kill() const { detail::kill(core(), nullptr, true, detail::kForever); }
    void kill(std::exception_ptr e, bool block = true) const { detail::kill(core(), std::move(e), block, detail::kForever); }
    template <class Rep, class Period>
    void kill(std::exception_ptr e, bool block, std::chrono::duration<Rep, Period> timeout) const {
        detail::kill(core(), std::move(e), block, detail::to_seconds(timeout));
    }

    // Finished (with a value, an exception, or killed).
    bool ready() const { return core().state == detail::State::dead; }
    // Finished without an exception; like gevent, being killed counts as success.
    bool successful() const { return ready() && (!core().error || core().killed); }
    // Ended by GreenletExit, or killed before it started.
    bool killed() const { return core().killed; }
    // The exception it ended with (null while running, on success, and when killed).
    std::exception_ptr exception() const { return core().killed ? nullptr : core().error; }

    std::string name() const { return detail::name_of(core()); }
    void set_name(std::string name) const { core().name = std::move(name); }
    std::uint64_t id() const { return core().id; }

    // After the greenlet ends, runs fn(handle) in a new greenlet (it may block).
    template <class Fn>
    void link(Fn fn) const {
        detail::add_link(core(), [fn = std::move(fn), self = *this]() mutable { spawn_link(std::move(fn), self); });
    }
    // After the greenlet ends, runs fn(handle) in the hub: cheap, but fn must not
    // block (a blocking call there throws std::logic_error).
    template <class Fn>
    void rawlink(Fn fn) const {
        detail::add_link(core(), [fn = std::move(fn), self = *this]() mutable { fn(self); });
    }

    explicit operator bool() const noexcept { return core_ != nullptr; }
    friend bool operator==(const AnyGreenlet& a, const AnyGreenlet& b) noexcept { return a.core_ == b.core_; }

    // The control block, for the runtime's own algorithms (joinall, Group).
    detail::GreenletCore& core() const {
        if (!core_) [[unlikely]]
            detail::throw_empty_handle();
        return *core_;
    }

    // Takes over one reference to `core`.
    static AnyGreenlet adopt(detail::GreenletCore* core) noexcept {
        AnyGreenlet g;
        g.core_ = core;
        return g;
    }

protected:
    template <class Fn>
    static void spawn_link(Fn&& fn, const AnyGreenlet& self);

    detail::GreenletCore* core_ = nullptr;
};

namespace detail {

template <class R>
struct ResultCore : GreenletCore {
    std::optional<R> value;
};
template <>
struct ResultCore<void> : GreenletCore {};

// The typed control block: the callable until it has run, then the result.
template <class R, class Fn>
struct Body final : ResultCore<R> {
    explicit Body(Fn&& f) : fn(std::move(f)) {}
    void run() override {
        if constexpr (std::is_void_v<R>)
            std::invoke(std::move(*fn));
        else
            this->value.emplace(std::invoke(std::move(*fn)));
        fn.reset();
    }
    void drop_body() noexcept override { fn.reset(); }
    std::optional<Fn> fn;
};

}  // namespace detail

// A handle to a greenlet whose function returns R.
template <class R>
class Greenlet : public AnyGreenlet {
public:
    Greenlet() noexcept = default;

    // Waits for the result; rethrows the greenlet's exception (GreenletExit if it
    // was killed). With a timeout, throws TimeoutError when it runs out.
    const R& get() const {
        detail::join_for_result(core(), detail::kForever);
        return *static_cast<detail::ResultCore<R>&>(core()).value;
    }
    template <class Rep, class Period>
    const R& get(std::chrono::duration<Rep, Period> timeout) const {
        detail::join_for_result(core(), detail::to_seconds(timeout));
        return *static_cast<detail::ResultCore<R>&>(core()).value;
    }

    static Greenlet adopt(detail::GreenletCore* core) noexcept {
        Greenlet g;
        g.core_ = core;
        return g;
    }
};

template <>
class Greenlet<void> : public AnyGreenlet {
public:
    Greenlet() noexcept = default;
    void get() const { detail::join_for_result(core(), detail::kForever); }
    template <class Rep, class Period>
    void get(std::chrono::duration<Rep, Period> timeout) const {
        detail::join_for_result(core(), detail::to_seconds(timeout));
    }
    static Greenlet adopt(detail::GreenletCore* core) noexcept {
        Greenlet g;
        g.core_ = core;
        return g;
    }
};

namespace detail {

template <class F, class... A>
using SpawnResult = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;

template <class F>
concept NotSpawnOptions = !std::is_same_v<std::remove_cvref_t<F>, SpawnOptions>;

// Builds the control block holding f and copies of args (like std::thread), and
// queues it: now (delay < 0) or after `delay` seconds.
template <class F, class... A>
Greenlet<SpawnResult<F, A...>> launch(SpawnOptions& options, double delay, F&& f, A&&... args) {
    using R = SpawnResult<F, A...>;
    auto call = [f = std::forward<F>(f), ... a = std::forward<A>(args)]() mutable -> decltype(auto) {
        return std::invoke(std::move(f), std::move(a)...);
    };
    auto* body = new Body<R, decltype(call)>(std::move(call));
    try {
        if (delay < 0)
            start(*body, options);
        else
            start_later(*body, options, delay);
    } catch (...) {
        delete body;
        throw;
    }
    return Greenlet<R>::adopt(body);
}

}  // namespace detail

// Starts f(args...) in a new greenlet; it first runs when the caller next blocks.
// Arguments are copied (use std::ref to pass a reference).
template <detail::NotSpawnOptions F, class... A>
auto spawn(F&& f, A&&... args) {
    SpawnOptions options;
    return detail::launch(options, -1.0, std::forward<F>(f), std::forward<A>(args)...);
}

template <class F, class... A>
auto spawn(SpawnOptions options, F&& f, A&&... args) {
    return detail::launch(options, -1.0, std::forward<F>(f), std::forward<A>(args)...);
}

// Like spawn, but the greenlet first runs after `delay`.
template <class Rep, class Period, class F, class... A>
auto spawn_later(std::chrono::duration<Rep, Period> delay, F&& f, A&&... args) {
    SpawnOptions options;
    return detail::launch(options, detail::to_seconds(delay), std::forward<F>(f), std::forward<A>(args)...);
}

template <class Fn>
void AnyGreenlet::spawn_link(Fn&& fn, const AnyGreenlet& self) {
    spawn(std::forward<Fn>(fn), self);
}

// A handle to the running greenlet (the thread's main greenlet outside any spawn).
GREEN_API AnyGreenlet getcurrent();

}  // namespace green
