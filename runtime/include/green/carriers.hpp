// Carriers: greenlets on every core. A carrier is an OS thread with its own
// hub; start_carriers(n) makes the calling thread's hub carrier 0 and starts
// n-1 more, which run until the process ends. A greenlet never moves: run_on
// and spawn_on start a greenlet on a chosen carrier and bring its result back.
//
//   green::start_carriers(4);
//   auto parts = green::spawn_on(1, checksum, std::move(chunk));  // Greenlet<R> of this thread
//   std::uint32_t sum = green::run_on(2, checksum, other_chunk);  // only this greenlet waits
//
// The function and copies of its arguments run on the other carrier's thread:
// they must not touch handles or primitives of the caller's thread (Event,
// Lock, Queue, Greenlet handles belong to the thread that made them); pass
// values, or use pthread objects and atomics. Under `greenrun --threads=N`
// the program's green threads use the same carriers.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "green/detail/config.hpp"
#include "green/greenlet.hpp"
#include "green/thread_pool.hpp"

namespace green {

namespace detail {
GREEN_API void run_on_carrier(std::size_t carrier, ThreadTask& task);
}  // namespace detail

// Starts carriers until there are `n` (1..256; n smaller than the count is a
// no-op) and returns how many there are. Throws std::invalid_argument for a
// bad n and std::system_error when the kernel refuses a thread.
GREEN_API std::size_t start_carriers(std::size_t n);
// How many carriers there are: 0 before start_carriers.
GREEN_API std::size_t carrier_count() noexcept;
// The index of the calling thread's carrier; nullopt on a thread that is not one.
GREEN_API std::optional<std::size_t> current_carrier() noexcept;

// Runs f(args...) in a new greenlet on carrier `carrier` and returns its result
// or rethrows its exception; only the calling greenlet waits. On the caller's
// own carrier it runs f in the calling greenlet. Killed while waiting, the
// caller kills the other greenlet (it gets GreenletExit at its next suspension
// point) and does not wait for it. Throws std::out_of_range for a carrier that
// does not exist.
template <class F, class... A>
auto run_on(std::size_t carrier, F&& f, A&&... args) {
    using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;
    auto call = [f = std::forward<F>(f), ... a = std::forward<A>(args)]() mutable -> R {
        return std::invoke(std::move(f), std::move(a)...);
    };
    using Task = detail::TypedThreadTask<R, decltype(call)>;
    std::unique_ptr<Task, void (*)(Task*)> task(new Task(std::move(call)), [](Task* t) { detail::release_task(t); });
    detail::run_on_carrier(carrier, *task);
    if (task->error) std::rethrow_exception(task->error);
    if constexpr (!std::is_void_v<R>) return std::move(*task->value);
}

// run_on() in a new greenlet of the calling thread: returns its handle at once.
template <class F, class... A>
auto spawn_on(std::size_t carrier, F&& f, A&&... args) {
    return green::spawn([carrier](auto&&... xs) { return run_on(carrier, std::forward<decltype(xs)>(xs)...); },
                        std::forward<F>(f), std::forward<A>(args)...);
}

}  // namespace green
