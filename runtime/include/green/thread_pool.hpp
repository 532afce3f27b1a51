// ThreadPool and run_in_thread: run blocking or CPU-heavy code on OS threads
// while the hub keeps running the other greenlets (gevent.threadpool).
//
//   auto digest = green::run_in_thread(sha256_file, path);   // only this greenlet waits
//
// The result comes back through the hub's loop (an ev_async wake-up); the
// function's exception is rethrown in the caller.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "green/detail/config.hpp"
#include "green/greenlet.hpp"

namespace green {

namespace detail {

// One call handed to a worker thread. Only the waiting greenlet's thread touches
// its bookkeeping; the worker runs it and posts it back.
struct GREEN_API ThreadTask {
    virtual ~ThreadTask();
    virtual void run() noexcept = 0;  // on the worker: calls the function, keeps the outcome

    std::exception_ptr error;
    int refs = 2;                      // the waiting greenlet's and the worker's
    bool done = false;
    GreenletCore* waiter = nullptr;    // nullptr once the waiter gave up (killed)
    std::shared_ptr<void> home;        // the waiting hub's inbox
};

template <class R, class Fn>
struct TypedThreadTask final : ThreadTask {
    explicit TypedThreadTask(Fn&& f) : fn(std::move(f)) {}
    void run() noexcept override {
        try {
            if constexpr (std::is_void_v<R>)
                fn();
            else
                value.emplace(fn());
        } catch (...) {
            error = std::current_exception();
        }
    }
    Fn fn;
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
};

GREEN_API void release_task(ThreadTask* t) noexcept;

}  // namespace detail

class GREEN_API ThreadPool {
public:
    // Up to `maxsize` worker threads, started as calls arrive; 0 throws std::invalid_argument.
    explicit ThreadPool(std::size_t maxsize = 10);
    // Lets running calls finish (blocking this thread); calls not yet started fail
    // in their callers with std::runtime_error.
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Runs f(args...) on a worker; only the calling greenlet waits. Returns the
    // result or rethrows the exception. A kill while waiting cancels the call if no
    // worker started it yet; otherwise the call finishes and its result is dropped.
    // When no worker is free and none can be started (RLIMIT_NPROC), throws
    // std::system_error and the call is not made.
    template <class F, class... A>
    auto apply(F&& f, A&&... args) {
        using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;
        auto call = [f = std::forward<F>(f), ... a = std::forward<A>(args)]() mutable -> R {
            return std::invoke(std::move(f), std::move(a)...);
        };
        using Task = detail::TypedThreadTask<R, decltype(call)>;
        std::unique_ptr<Task, void (*)(Task*)> task(new Task(std::move(call)),
                                                    [](Task* t) { detail::release_task(t); });
        submit_and_wait(*task);
        if (task->error) std::rethrow_exception(task->error);
        if constexpr (!std::is_void_v<R>) return std::move(*task->value);
    }

    // apply() in a new greenlet: returns its handle at once.
    template <class F, class... A>
    auto spawn(F&& f, A&&... args) {
        return green::spawn([this](auto&&... xs) { return this->apply(std::forward<decltype(xs)>(xs)...); },
                            std::forward<F>(f), std::forward<A>(args)...);
    }

    std::size_t maxsize() const noexcept;
    // Worker threads started so far.
    std::size_t size() const;

    struct Impl;

private:
    void submit_and_wait(detail::ThreadTask& task);

    std::unique_ptr<Impl> impl_;
};

// The pool run_in_thread uses: GREEN_THREADPOOL_SIZE threads (default 10),
// created on first use and kept until the process exits.
GREEN_API ThreadPool& default_thread_pool();

template <class F, class... A>
auto run_in_thread(F&& f, A&&... args) {
    return default_thread_pool().apply(std::forward<F>(f), std::forward<A>(args)...);
}

}  // namespace green
