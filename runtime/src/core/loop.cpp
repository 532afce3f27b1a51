// libev glue: the only file that includes ev.h and the only one that reaches
// the ev_loop. Every watcher the runtime uses (the hub's timers and wake-ups,
// the fd table's and c-ares' I/O watchers) is started through
// the functions of loop.hpp, which are defined here.
//
// What the hub relies on from the loop:
//   - one ev_loop per hub, created with ev_loop_new: never the default loop, so a
//     program that uses libev itself keeps its own; EVFLAG_NOSIGMASK so the loop
//     never changes the program's signal mask; EVFLAG_NOENV so LIBEV_FLAGS in the
//     environment of a preloaded program cannot change the backend;
//   - ev_run(EVRUN_NOWAIT | EVRUN_ONCE) polls once and invokes callbacks on the
//     hub's stack; callbacks only wake greenlets, they never switch;
//   - ev_run returns the number of active watchers that keep the loop alive, and
//     with none it does not block; internal watchers (the async wake-up) are
//     unref'd so an idle hub can tell that nothing will ever wake its greenlets;
//   - timers are relative to ev_now(), which is refreshed before each timer is
//     armed so a sleep is never cut short by a stale clock;
//   - the async watchers are the loop's own (an eventfd behind an I/O watcher,
//     not ev_async), and async_send, a few atomics and a raw write, is the only
//     call made from other threads or signal handlers;
//   - ev_loop_fork re-creates the epoll set in a forked child, and to give the
//     loop's descriptors new numbers (renew_descriptors).
#include "base/sys.hpp"
#include "core/loop.hpp"
#include "core/runtime_fds.hpp"

#include <ev.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace green::detail {

static_assert(sizeof(ev_timer) <= sizeof(WatcherSlot::watcher) && alignof(ev_timer) <= 8, "WatcherSlot too small for ev_timer");
static_assert(sizeof(ev_io) <= sizeof(WatcherSlot::watcher) && alignof(ev_io) <= 8, "WatcherSlot too small for ev_io");
static_assert(offsetof(ev_io, active) == 0 && offsetof(ev_timer, active) == 0, "watcher_active reads `active` there");

// The ev_loop behind a Loop, for this file only.
struct LoopGlue {
    static struct ev_loop* raw(const Loop& loop) noexcept { return loop.loop_; }
};

namespace {

// Every watcher sits at the start of its WatcherSlot: one callback serves all.
template <class Watcher>
void fire(struct ev_loop*, Watcher* w, int) {
    auto* slot = reinterpret_cast<WatcherSlot*>(w);
    slot->fn(slot->arg);
}

// An async watcher, in its WatcherSlot (all-zero: never started).
struct AsyncState {
    std::atomic<bool> pending{false};  // sent since its callback last ran
    bool active = false;
    WatcherSlot* next = nullptr;       // the loop's next started one
};
static_assert(sizeof(AsyncState) <= sizeof(WatcherSlot::watcher) && alignof(AsyncState) <= 8,
              "WatcherSlot too small for an async watcher");

AsyncState& async_state(WatcherSlot& w) noexcept { return *std::launder(reinterpret_cast<AsyncState*>(w.watcher)); }

int new_eventfd() noexcept {
    return make_runtime_fd([] { return sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); });
}

}  // namespace

Loop::Loop() {
    constexpr unsigned flags = unsigned{EVFLAG_NOENV} | unsigned{EVFLAG_NOSIGMASK};
    {
        RuntimeScope ours;  // the epoll descriptor
        learn_made_epoll(&epoll_fd_);
        loop_ = ev_loop_new(unsigned{EVBACKEND_EPOLL} | flags);
        if (!loop_) loop_ = ev_loop_new(unsigned{EVFLAG_AUTO} | flags);
        learn_made_epoll(nullptr);
    }
    if (!loop_) throw_errno(errno ? errno : ENOMEM, "green: ev_loop_new");
    // ev_run invokes pending watchers before it polls as well as after; the
    // first finds none almost always, and ev_invoke_pending walks every
    // priority to see so.
    ev_set_invoke_pending_cb(loop_, [](struct ev_loop* l) {
        if (ev_pending_count(l) != 0) ev_invoke_pending(l);
    });
    const int fd = new_eventfd();
    if (fd < 0) {
        const int error = errno;
        RuntimeScope ours;
        ev_loop_destroy(loop_);
        throw_errno(error, "green: eventfd");
    }
    wakeup_fd_.store(fd, std::memory_order_relaxed);
    watch_wakeup(fd);
}

Loop::~Loop() {
    mark_present();
    if (after_taker() & kRenewalDue) expect_lost_close(std::exchange(lost_epoll_fd_, -1));
    unwatch_wakeup();
    close_wakeup(wakeup_fd_.exchange(-1, std::memory_order_seq_cst));
    RuntimeScope ours;  // libev closes its epoll set: the shim must let it
    ev_loop_destroy(loop_);
    expect_lost_close(-1);
}

// Wake-ups: a sender marks its watcher pending, then (unless a write is on its
// way already) writes the eventfd; the loop reads the eventfd, then clears that
// mark, then looks at the watchers, so a send after the look writes again. The
// read comes first: cleared before it, the mark could be set again by a sender
// of another watcher whose write that read then swallowed, and every later
// sender would skip its write to a loop that never wakes.
// All of it is a few atomics and one system call: thread- and signal-safe.
void Loop::wake() noexcept {
    if (wakeup_sent_.exchange(true, std::memory_order_seq_cst)) return;
    wakeup_writers_.fetch_add(1, std::memory_order_seq_cst);
    const int fd = wakeup_fd_.load(std::memory_order_seq_cst);
    const std::uint64_t one = 1;
    if (fd >= 0) (void)sys::write(fd, &one, sizeof one);
    wakeup_writers_.fetch_sub(1, std::memory_order_release);
}

void Loop::on_wakeup(void* arg) {
    auto& loop = *static_cast<Loop*>(arg);
    std::uint64_t count;
    (void)sys::read(loop.wakeup_fd_.load(std::memory_order_relaxed), &count, sizeof count);
    loop.wakeup_sent_.store(false, std::memory_order_seq_cst);
    for (WatcherSlot* w = loop.asyncs_; w;) {
        WatcherSlot* next = async_state(*w).next;
        if (async_state(*w).pending.exchange(false, std::memory_order_seq_cst)) w->fn(w->arg);
        w = next;
    }
}

void Loop::watch_wakeup(int fd) noexcept {
    io_start(*this, wakeup_io_, fd, false, on_wakeup, this);
    ev_unref(loop_);  // it does not keep the loop alive
}

void Loop::unwatch_wakeup() noexcept {
    ev_ref(loop_);
    io_stop(*this, wakeup_io_);
}

// Closes the wake-up's old eventfd `fd` once no sender can still be writing to
// that number (the senders read wakeup_fd_ before `fd` was replaced there).
void Loop::close_wakeup(int fd) noexcept {
    while (wakeup_writers_.load(std::memory_order_seq_cst) != 0) {
    }
    close_runtime_fd(fd);
}

// The wake-up's eventfd becomes `fd`.
void Loop::replace_wakeup(int fd) noexcept {
    const int old = wakeup_fd_.exchange(fd, std::memory_order_seq_cst);
    unwatch_wakeup();
    watch_wakeup(fd);
    close_wakeup(old);
}

namespace {

// The same eventfd at another number: a send meanwhile is not lost.
int moved_eventfd(int fd) noexcept {
    return make_runtime_fd([fd] { return sys::fcntl(fd, F_DUPFD_CLOEXEC, 0); });
}

}  // namespace

bool Loop::renew_descriptors() noexcept {
    begin_use();
    const int moved = moved_eventfd(wakeup_fd_.load(std::memory_order_relaxed));
    if (moved >= 0) {
        replace_wakeup(moved);
        renew_epoll_set();
    }
    end_use();
    return moved >= 0;
}

Loop::Take Loop::give_up_while_away(int fd) noexcept {
    int attention = attention_.load(std::memory_order_relaxed);
    do {
        if (!owns(fd)) return Take::not_owned;
        if (attention & kTaking) return Take::present;  // another thread is taking one: try again
    } while (!attention_.compare_exchange_weak(attention, attention | kTaking, std::memory_order_acquire,
                                               std::memory_order_relaxed));
    Take result = Take::failed;  // no barrier (membarrier refused)
    if (sys::barrier_on_every_thread()) result = present_.load(std::memory_order_acquire) ? Take::present : take(fd);
    const int left = result == Take::taken ? kRenewalDue : 0;
    attention = attention_.load(std::memory_order_relaxed);
    while (!attention_.compare_exchange_weak(attention, (attention & ~kTaking) | left, std::memory_order_release,
                                             std::memory_order_relaxed)) {
    }
    return result;
}

// give_up_while_away's work, while it excludes the loop's thread.
Loop::Take Loop::take(int fd) noexcept {
    if (wakes_by(fd)) {
        const int moved = moved_eventfd(fd);
        if (moved < 0) return Take::failed;
        close_wakeup(wakeup_fd_.exchange(moved, std::memory_order_seq_cst));
        return Take::taken;
    }
    if (fd != epoll_fd_.load(std::memory_order_relaxed)) return Take::not_owned;
    epoll_fd_.store(-1, std::memory_order_relaxed);
    lost_epoll_fd_ = fd;
    close_runtime_fd(fd);
    return Take::taken;
}

// Waits out another thread taking a descriptor (away meanwhile, so that it
// can finish: a few system calls); returns what it left.
int Loop::after_taker() noexcept {
    int attention = attention_.load(std::memory_order_acquire);
    for (;;) {
        if (attention & kTaking) {
            end_use();
            sys::yield();
            mark_present();
            attention = attention_.load(std::memory_order_acquire);
        } else if (attention_.compare_exchange_weak(attention, 0, std::memory_order_acquire, std::memory_order_acquire)) {
            return attention;
        }
    }
}

bool Loop::begin_use_slowly() noexcept {
    if (!(after_taker() & kRenewalDue)) return false;
    // give_up_while_away moved the wake-up, or closed the epoll set (or the
    // process forked): watch the wake-up at its number, and make a new set.
    const int wakeup = wakeup_fd_.load(std::memory_order_relaxed);
    if (wakeup != reinterpret_cast<const ev_io*>(wakeup_io_.watcher)->fd) {
        unwatch_wakeup();
        watch_wakeup(wakeup);
    }
    renew_epoll_set();
    return true;
}

// A new epoll set, made by libev as after a fork (it closes the old one) in a
// poll that does not wait, whose number the loop learns (learn_made_epoll).
// One that give_up_while_away closed is closed already, and perhaps another's
// now: that close of libev's is passed over (expect_lost_close).
void Loop::renew_epoll_set() noexcept {
    expect_lost_close(std::exchange(lost_epoll_fd_, -1));
    epoll_fd_.store(-1, std::memory_order_relaxed);
    learn_made_epoll(&epoll_fd_);
    ev_loop_fork(loop_);
    poll(false);
    learn_made_epoll(nullptr);
    expect_lost_close(-1);
}

bool Loop::poll(bool block) {
    RuntimeScope ours;  // after a fork, libev opens the new epoll set here
    return ev_run(loop_, block ? EVRUN_ONCE : EVRUN_NOWAIT) != 0;
}

void Loop::update_now() noexcept { ev_now_update(loop_); }

double Loop::now() const noexcept { return ev_now(loop_); }

void Loop::after_fork() noexcept {
    // The epoll set is the parent's too: the loop's next turn makes the
    // child's own (begin_use_slowly), and finishes what a thread taking a
    // descriptor in the parent left half-done.
    present_.store(false, std::memory_order_relaxed);
    attention_.store(kRenewalDue, std::memory_order_relaxed);
    // The eventfd is the parent's too: the child gets one of its own. A sender
    // of the parent's may have been halfway: whatever it sent is looked at again.
    wakeup_writers_.store(0, std::memory_order_relaxed);
    const int fresh = new_eventfd();
    if (fresh < 0) return;  // the parent's wakes this loop too, at worst
    replace_wakeup(fresh);
    wakeup_sent_.store(false, std::memory_order_relaxed);
    wake();
}

void Loop::hold() noexcept { ev_ref(loop_); }
void Loop::unhold() noexcept { ev_unref(loop_); }

void timer_start(Loop& loop, WatcherSlot& t, double after, void (*fn)(void*), void* arg) noexcept {
    auto* w = reinterpret_cast<ev_timer*>(t.watcher);
    t.fn = fn;
    t.arg = arg;
    ev_timer_init(w, fire<ev_timer>, after, 0.0);
    loop.update_now();
    ev_timer_start(LoopGlue::raw(loop), w);
}

void timer_stop(Loop& loop, WatcherSlot& t) noexcept {
    ev_timer_stop(LoopGlue::raw(loop), reinterpret_cast<ev_timer*>(t.watcher));
}


bool io_start(Loop& loop, WatcherSlot& w, int fd, bool for_write, void (*fn)(void*), void* arg) noexcept {
    auto* io = reinterpret_cast<ev_io*>(w.watcher);
    const int events = for_write ? EV_WRITE : EV_READ;
    // ev_io_set marks the fd for re-registration with the kernel, which costs an
    // epoll_ctl at the next poll: restarting a watcher set up for the same fd and
    // events skips that (a reused fd number gets a fresh slot, see FdTable::forget).
    if (io->fd != fd || (io->events & (EV_READ | EV_WRITE)) != events || w.fn != fn || w.arg != arg) {
        // libev asserts when epoll_ctl says EBADF, so a closed fd or an O_PATH one
        // (which poll reports as POLLNVAL) is refused here, once per registration.
        const int flags = sys::fcntl(fd, F_GETFL);
        if (flags < 0 || (flags & O_PATH)) return false;
        w.fn = fn;
        w.arg = arg;
        ev_io_init(io, fire<ev_io>, fd, events);
    }
    ev_io_start(LoopGlue::raw(loop), io);
    return true;
}

void io_stop(Loop& loop, WatcherSlot& w) noexcept { ev_io_stop(LoopGlue::raw(loop), reinterpret_cast<ev_io*>(w.watcher)); }


void async_start(Loop& loop, WatcherSlot& w, void (*fn)(void*), void* arg) noexcept {
    w.fn = fn;
    w.arg = arg;
    AsyncState& a = *new (w.watcher) AsyncState;
    a.active = true;
    a.next = loop.asyncs_;
    loop.asyncs_ = &w;
}

void async_send(Loop& loop, WatcherSlot& w) noexcept {
    if (!async_state(w).pending.exchange(true, std::memory_order_seq_cst)) loop.wake();
}

void async_stop(Loop& loop, WatcherSlot& w) noexcept {
    AsyncState& a = async_state(w);
    if (!a.active) return;
    a.active = false;
    for (WatcherSlot** link = &loop.asyncs_; *link; link = &async_state(**link).next)
        if (*link == &w) {
            *link = a.next;
            break;
        }
}

}  // namespace green::detail
