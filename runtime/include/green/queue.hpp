// Queues between greenlets (gevent.queue): Queue (FIFO), LifoQueue,
// PriorityQueue (smallest first) and JoinableQueue. put/get wait while full/empty
// and take optional timeouts; close() ends them; range-for drains until closed.
// For the rendezvous queue (maxsize 0 in gevent) see Channel in channel.hpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <stdexcept>
#include <vector>

#include "green/detail/basic_queue.hpp"

namespace green {

namespace detail {

template <class T>
struct FifoStorage {
    std::deque<T> items;
    std::size_t size() const noexcept { return items.size(); }
    void push(T&& x) { items.push_back(std::move(x)); }
    T pop() {
        T x = std::move(items.front());
        items.pop_front();
        return x;
    }
};

template <class T>
struct LifoStorage {
    std::vector<T> items;
    std::size_t size() const noexcept { return items.size(); }
    void push(T&& x) { items.push_back(std::move(x)); }
    T pop() {
        T x = std::move(items.back());
        items.pop_back();
        return x;
    }
};

template <class T, class Compare>
struct HeapStorage {
    std::vector<T> items;
    Compare less;
    // std heaps keep the largest on top; invert to pop the smallest.
    bool after(const T& a, const T& b) const { return less(b, a); }
    std::size_t size() const noexcept { return items.size(); }
    void push(T&& x) {
        items.push_back(std::move(x));
        std::push_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return after(a, b); });
    }
    T pop() {
        std::pop_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return after(a, b); });
        T x = std::move(items.back());
        items.pop_back();
        return x;
    }
};

inline std::size_t capacity_for(std::size_t maxsize) noexcept { return maxsize == 0 ? kUnbounded : maxsize; }

}  // namespace detail

// FIFO queue; maxsize 0 means unbounded.
template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStorage<T>> {
public:
    explicit Queue(std::size_t maxsize = 0) : detail::BasicQueue<T, detail::FifoStorage<T>>(detail::capacity_for(maxsize)) {}
};

// Last in, first out.
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStorage<T>> {
public:
    explicit LifoQueue(std::size_t maxsize = 0) : detail::BasicQueue<T, detail::LifoStorage<T>>(detail::capacity_for(maxsize)) {}
};

// get() returns the smallest item by Compare, like Python's PriorityQueue.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStorage<T, Compare>> {
public:
    explicit PriorityQueue(std::size_t maxsize = 0, Compare less = Compare())
        : detail::BasicQueue<T, detail::HeapStorage<T, Compare>>(detail::capacity_for(maxsize),
                                                                 detail::HeapStorage<T, Compare>{{}, std::move(less)}) {}
};

// A FIFO queue that counts unfinished tasks: every put adds one, task_done()
// removes one, join() waits until none is left.
template <class T>
class JoinableQueue : public Queue<T> {
public:
    using Queue<T>::Queue;

    // Marks one item taken with get() as processed; more calls than items put
    // throws std::logic_error.
    void task_done() {
        if (unfinished_ == 0) throw std::logic_error("green: JoinableQueue::task_done() called more times than items were put");
        if (--unfinished_ == 0) all_done_.wake_all(detail::WakeReason::woken);
    }
    std::size_t unfinished_tasks() const noexcept { return unfinished_; }

    // Waits until every item put has been marked done; false when `timeout` runs
    // out. May switch.
    bool join() { return join_for(detail::kForever); }
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) {
        return join_for(detail::to_seconds(timeout));
    }

private:
    void on_accepted() noexcept override { ++unfinished_; }
    bool join_for(double timeout) {
        if (unfinished_ == 0) return true;
        if (timeout == 0) return false;
        switch (detail::wait_on(all_done_, timeout, "JoinableQueue::join", this)) {
        case detail::WakeReason::deadline: return false;
        case detail::WakeReason::closed: throw ClosedError();
        default: return true;
        }
    }

    std::size_t unfinished_ = 0;
    detail::WaitList all_done_;
};

}  // namespace green
