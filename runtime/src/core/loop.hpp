// The hub's event loop (libev underneath, reached only from loop.cpp; see there
// for what the hub relies on).
#pragma once

#include <atomic>
#include <memory>

#include "green/detail/watcher_slot.hpp"

struct ev_loop;

namespace green::detail {

class Loop {
public:
    Loop();  // throws std::system_error when the kernel gives no epoll instance
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Runs due timers and I/O callbacks once, waiting for the next one when `block`
    // (never when nothing is armed). Returns whether an armed watcher could still
    // wake someone on this loop.
    bool run_once(bool block);
    // Re-reads the clock; timers are relative to this cached time.
    void update_now() noexcept;
    double now() const noexcept;
    // In a forked child: re-creates kernel state (the epoll set and the wake-up
    // eventfd) shared with the parent.
    void after_fork() noexcept;
    // On the loop's thread, outside run_once: gives the loop's descriptors new
    // numbers (a new epoll set, the wake-up eventfd moved), so that the old ones
    // are free for a program that wants one (avoid_runtime_fd keeps them from
    // coming back). False if the kernel gave none.
    bool renew_descriptors() noexcept;
    // Whether `fd` is the wake-up eventfd (on the loop's thread).
    bool wakes_by(int fd) const noexcept { return fd == wakeup_fd_.load(std::memory_order_relaxed); }

    // Counts outstanding cross-thread work that keeps the loop alive (thread pool).
    void hold() noexcept;
    void unhold() noexcept;

private:
    friend struct LoopGlue;  // loop.cpp's watcher functions
    friend void async_start(Loop&, WatcherSlot&, void (*)(void*), void*) noexcept;
    friend void async_send(Loop&, WatcherSlot&) noexcept;
    friend void async_stop(Loop&, WatcherSlot&) noexcept;
    void watch_wakeup(int fd) noexcept;
    void unwatch_wakeup() noexcept;
    void close_wakeup(int fd) noexcept;
    void replace_wakeup(int fd) noexcept;
    void wake() noexcept;
    static void on_wakeup(void* loop);

    struct ev_loop* loop_;
    // The async watchers' wake-up: an eventfd of the runtime's own behind an I/O
    // watcher (libev's ev_async would keep its eventfd at one number for the
    // loop's whole life; this one can move, renew_descriptors).
    WatcherSlot wakeup_io_;
    std::atomic<int> wakeup_fd_{-1};
    std::atomic<int> wakeup_writers_{0};  // senders between reading wakeup_fd_ and writing to it
    std::atomic<bool> wakeup_sent_{false};
    WatcherSlot* asyncs_ = nullptr;       // started async watchers, linked through their slots
};

// A one-shot timer: fn(arg) runs in the hub `after` seconds from now.
void timer_start(Loop& loop, WatcherSlot& t, double after, void (*fn)(void*), void* arg) noexcept;
void timer_stop(Loop& loop, WatcherSlot& t) noexcept;
bool timer_active(const WatcherSlot& t) noexcept;

// A level-triggered readiness watcher on `fd` for reading or writing. False, and
// nothing started, when `fd` is not an open descriptor the kernel can poll
// (libev aborts on those).
bool io_start(Loop& loop, WatcherSlot& w, int fd, bool for_write, void (*fn)(void*), void* arg) noexcept;
void io_stop(Loop& loop, WatcherSlot& w) noexcept;
bool io_active(const WatcherSlot& w) noexcept;

// A wake-up from anywhere: after async_start, fn(arg) runs in the hub once for any
// number of async_send calls made since it last ran. async_send is thread-safe and
// async-signal-safe. It does not keep the loop alive.
void async_start(Loop& loop, WatcherSlot& w, void (*fn)(void*), void* arg) noexcept;
void async_send(Loop& loop, WatcherSlot& w) noexcept;
void async_stop(Loop& loop, WatcherSlot& w) noexcept;

}  // namespace green::detail
