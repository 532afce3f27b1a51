// AsyncResult<T>: a value (or exception) that one greenlet sets and others wait
// for (gevent.event.AsyncResult). Setting it again replaces the value.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include "green/errors.hpp"
#include "green/event.hpp"

namespace green {

namespace detail {

// What AsyncResult<T> and AsyncResult<void> share: readiness and the exception.
class AsyncResultBase {
public:
    void set_exception(std::exception_ptr e) {
        error_ = std::move(e);
        ready_.set();
    }
    bool ready() const noexcept { return ready_.is_set(); }
    bool successful() const noexcept { return ready() && !error_; }
    std::exception_ptr exception() const noexcept { return error_; }

    // Waits until it is set; false when `timeout` runs out first. May switch.
    bool wait() { return ready_.wait(); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return ready_.wait(timeout);
    }

protected:
    template <class... D>
    void wait_for_value(D... timeout) {
        if (!ready_.wait(timeout...)) throw TimeoutError();
        if (error_) std::rethrow_exception(error_);
    }

    Event ready_;
    std::exception_ptr error_;
};

}  // namespace detail

template <class T>
class AsyncResult : public detail::AsyncResultBase {
public:
    // Stores the value and wakes every waiter; never switches.
    void set(T value) {
        value_ = std::move(value);
        error_ = nullptr;
        ready_.set();
    }
    // Waits for the value and returns a copy; rethrows a set exception; with a
    // timeout, throws TimeoutError when it runs out.
    T get() {
        wait_for_value();
        return *value_;
    }
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        wait_for_value(timeout);
        return *value_;
    }

private:
    std::optional<T> value_;
};

template <>
class AsyncResult<void> : public detail::AsyncResultBase {
public:
    void set() {
        error_ = nullptr;
        ready_.set();
    }
    void get() { wait_for_value(); }
    template <class Rep, class Period>
    void get(std::chrono::duration<Rep, Period> timeout) {
        wait_for_value(timeout);
    }
};

}  // namespace green
