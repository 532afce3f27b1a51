// The engine behind Queue, LifoQueue, PriorityQueue, JoinableQueue and Channel.
//
// Invariants: greenlets wait in get only while no item is stored and no putter
// waits; they wait in put only while the queue is full. An item therefore always
// goes straight to the longest-waiting getter when there is one (handoff), and a
// waiting putter's item moves into the queue the moment a slot frees up. A handed
// item is never lost to a kill or a timeout: the receiver returns it and the kill
// arrives at its next suspension point. An item whose put times out, is killed or
// hits close() stays with the caller, unmoved.
#pragma once

#include <cstddef>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include "green/detail/core.hpp"
#include "green/detail/pull_iterator.hpp"
#include "green/detail/time.hpp"
#include "green/errors.hpp"

namespace green::detail {

inline constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

template <class T, class Storage>
class BasicQueue {
public:
    using value_type = T;

    explicit BasicQueue(std::size_t capacity, Storage storage = Storage()) : items_(std::move(storage)), capacity_(capacity) {}
    virtual ~BasicQueue() = default;
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    // Adds an item, waiting while the queue is full. Throws TimeoutError when the
    // timeout runs out and ClosedError when the queue is (or gets) closed; in both
    // cases `item` is left as it was. May switch; must not be called from the hub.
    void put(T&& item) { expect_put(put_for(item, kForever)); }
    void put(const T& item) { put(T(item)); }
    template <class Rep, class Period>
    void put(T&& item, std::chrono::duration<Rep, Period> timeout) {
        expect_put(put_for(item, to_seconds(timeout)));
    }
    template <class Rep, class Period>
    void put(const T& item, std::chrono::duration<Rep, Period> timeout) {
        T copy(item);
        put(std::move(copy), timeout);
    }
    // Adds an item only if that needs no wait; false (item untouched) otherwise.
    bool try_put(T&& item) { return put_for(item, 0); }
    bool try_put(const T& item) {
        T copy(item);
        return put_for(copy, 0);
    }

    // Removes and returns the next item, waiting while there is none. Throws
    // TimeoutError when the timeout runs out and ClosedError once the queue is
    // closed and drained. May switch; must not be called from the hub.
    T get() { return expect_item(get_for(kForever)); }
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return expect_item(get_for(to_seconds(timeout)));
    }
    // The next item if one is there without waiting; throws ClosedError if closed and drained.
    std::optional<T> try_get() { return get_for(0); }

    // No more puts: wakes every waiting putter and getter with ClosedError. Items
    // already in the queue can still be taken.
    void close() noexcept {
        closed_ = true;
        putters_.wake_all(WakeReason::closed);
        getters_.wake_all(WakeReason::closed);
    }
    bool closed() const noexcept { return closed_; }

    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.size() == 0; }
    bool full() const noexcept { return items_.size() >= capacity_; }

    // Range-for over a queue takes items until it is closed and drained.
    using iterator = PullIterator<T, BasicQueue>;
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const { return {}; }
    std::optional<T> pull() {
        try {
            return get();
        } catch (const ClosedError&) {
            return std::nullopt;
        }
    }

protected:
    // Called once for every item that enters the queue (JoinableQueue counts them).
    virtual void on_accepted() noexcept {}

    bool put_for(T& item, double timeout) {
        if (closed_) throw ClosedError();
        if (!getters_.empty()) {
            Waiter& w = getters_.pop_front();
            static_cast<std::optional<T>*>(w.slot)->emplace(std::move(item));
            on_accepted();
            deliver(w, WakeReason::handoff);
            return true;
        }
        if (items_.size() < capacity_) {
            items_.push(std::move(item));
            on_accepted();
            return true;
        }
        if (timeout == 0) return false;
        switch (wait_on(putters_, timeout, "Queue::put", this, &item)) {
        case WakeReason::handoff: return true;
        case WakeReason::closed: throw ClosedError();
        default: return false;
        }
    }

    std::optional<T> get_for(double timeout) {
        std::optional<T> out;
        if (items_.size() != 0) {
            out.emplace(items_.pop());
            if (!putters_.empty()) accept_waiting_putter([this](T&& x) { items_.push(std::move(x)); });
            return out;
        }
        if (!putters_.empty()) {  // a rendezvous: take the item from the putter itself
            accept_waiting_putter([&out](T&& x) { out.emplace(std::move(x)); });
            return out;
        }
        if (closed_) throw ClosedError();
        if (timeout == 0) return out;
        switch (wait_on(getters_, timeout, "Queue::get", this, &out)) {
        case WakeReason::handoff: return out;
        case WakeReason::closed: throw ClosedError();
        default: return std::nullopt;
        }
    }

    static void expect_put(bool done) {
        if (!done) throw TimeoutError();
    }
    static T expect_item(std::optional<T>&& item) {
        if (!item) throw TimeoutError();
        return std::move(*item);
    }

    Storage items_;
    std::size_t capacity_;
    bool closed_ = false;
    WaitList getters_;
    WaitList putters_;

private:
    template <class Sink>
    void accept_waiting_putter(Sink&& sink) {
        Waiter& w = putters_.pop_front();
        sink(std::move(*static_cast<T*>(w.slot)));
        on_accepted();
        deliver(w, WakeReason::handoff);
    }
};

}  // namespace green::detail
