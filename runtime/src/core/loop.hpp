// The hub's event loop (libev underneath, reached only from loop.cpp; see there
// for what the hub relies on).
#pragma once

#include <atomic>
#include <cstring>
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
    bool run_once(bool block) {
        const bool renewed = begin_use();  // a poll ran: greenlets may be ready
        const bool alive = poll(block && !renewed);
        end_use();
        return alive;
    }
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
    // Whether `fd` may be the epoll set (on the loop's thread): the one libev
    // made, where the shim told which (learn_made_epoll), else any.
    bool may_poll_with(int fd) const noexcept {
        const int epoll = epoll_fd_.load(std::memory_order_relaxed);
        return epoll < 0 || epoll == fd;
    }
    // On any thread: whether `fd` is known to be the loop's epoll set or
    // wake-up eventfd.
    bool owns(int fd) const noexcept {
        return fd >= 0 && (wakes_by(fd) || fd == epoll_fd_.load(std::memory_order_relaxed));
    }
    // On another thread, for a program's dup2 onto `fd`, one the loop owns:
    // while the loop's thread is away from it (a thread busy outside green does
    // not come back to answer), takes `fd` from the loop: the wake-up eventfd
    // moves to another number, or the epoll set closes; the loop's next turn
    // makes a new epoll set. Nothing is done unless `taken`: `present` while
    // the loop's thread polls (it gives `fd` up itself: renew_descriptors),
    // `failed` where the kernel gives no barrier (membarrier) or no new
    // descriptor, `not_owned` if `fd` is not the loop's.
    enum class Take { taken, present, failed, not_owned };
    Take give_up_while_away(int fd) noexcept;

    // Counts outstanding cross-thread work that keeps the loop alive (thread pool).
    void hold() noexcept;
    void unhold() noexcept;

private:
    friend struct LoopGlue;  // loop.cpp's watcher functions
    friend void async_start(Loop&, WatcherSlot&, void (*)(void*), void*) noexcept;
    friend void async_send(Loop&, WatcherSlot&) noexcept;
    friend void async_stop(Loop&, WatcherSlot&) noexcept;
    bool poll(bool block);
    // The loop's thread takes its turn with the loop's descriptors: no atomic
    // read-modify-write on this hot path (see present_). True if it made a new
    // epoll set first, in a poll of its own.
    bool begin_use() noexcept {
        mark_present();
        if (attention_.load(std::memory_order_relaxed) != 0) [[unlikely]]
            return begin_use_slowly();
        return false;
    }
    // The store before every look at attention_ (begin_use, after_taker).
    void mark_present() noexcept {
        present_.store(true, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);  // the taker's barrier_on_every_thread orders the two
    }
    bool begin_use_slowly() noexcept;
    int after_taker() noexcept;
    Take take(int fd) noexcept;
    void end_use() noexcept { present_.store(false, std::memory_order_release); }
    void renew_epoll_set() noexcept;
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
    // Another thread takes one of the loop's descriptors only while the loop's
    // thread is away from them (give_up_while_away). That thread marks itself
    // present with a plain store, then looks at attention_; the taker marks
    // attention_, makes every thread pass a memory barrier
    // (barrier_on_every_thread), then looks at present_: one of the two sees
    // the other (Dekker's mutual exclusion, with the barrier paid by the rare
    // side only).
    std::atomic<bool> present_{false};
    enum Attention : int {
        kTaking = 1,      // another thread is taking a descriptor, or looking whether it may
        kRenewalDue = 2,  // it took one (or the process forked): the wake-up is watched anew, a new epoll set made
    };
    std::atomic<int> attention_{0};
    std::atomic<int> epoll_fd_{-1};   // libev's epoll set, where the shim tells (-1: not known)
    int lost_epoll_fd_ = -1;          // closed by give_up_while_away; libev's backend number still
};

// Whether the timer or I/O watcher in `w` is started: libev's `active`, the
// first int of every watcher (loop.cpp checks). Inline: every fd wait asks.
inline bool watcher_active(const WatcherSlot& w) noexcept {
    int active;
    std::memcpy(&active, w.watcher, sizeof active);
    return active != 0;
}

// A one-shot timer: fn(arg) runs in the hub `after` seconds from now.
void timer_start(Loop& loop, WatcherSlot& t, double after, void (*fn)(void*), void* arg) noexcept;
void timer_stop(Loop& loop, WatcherSlot& t) noexcept;
inline bool timer_active(const WatcherSlot& t) noexcept { return watcher_active(t); }

// A level-triggered readiness watcher on `fd` for reading or writing. False, and
// nothing started, when `fd` is not an open descriptor the kernel can poll
// (libev aborts on those).
bool io_start(Loop& loop, WatcherSlot& w, int fd, bool for_write, void (*fn)(void*), void* arg) noexcept;
void io_stop(Loop& loop, WatcherSlot& w) noexcept;
inline bool io_active(const WatcherSlot& w) noexcept { return watcher_active(w); }

// A wake-up from anywhere: after async_start, fn(arg) runs in the hub once for any
// number of async_send calls made since it last ran. async_send is thread-safe and
// async-signal-safe. It does not keep the loop alive.
void async_start(Loop& loop, WatcherSlot& w, void (*fn)(void*), void* arg) noexcept;
void async_send(Loop& loop, WatcherSlot& w) noexcept;
void async_stop(Loop& loop, WatcherSlot& w) noexcept;

}  // namespace green::detail
