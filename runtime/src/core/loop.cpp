// libev glue: the only file that includes ev.h and the only one that reaches
// the ev_loop. Every watcher the runtime uses (the hub's timers and wake-ups,
// the fd table's and c-ares' I/O watchers, signal watchers) is started through
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
//   - ev_async_send is the only call made from other threads or signal handlers;
//   - ev_loop_fork re-creates the epoll set in a forked child.
#include "base/sys.hpp"
#include "core/loop.hpp"
#include "core/runtime_fds.hpp"

#include <ev.h>
#include <fcntl.h>

#include <cerrno>

namespace green::detail {

static_assert(sizeof(ev_timer) <= sizeof(WatcherSlot::watcher) && alignof(ev_timer) <= 8, "WatcherSlot too small for ev_timer");
static_assert(sizeof(ev_io) <= sizeof(WatcherSlot::watcher) && alignof(ev_io) <= 8, "WatcherSlot too small for ev_io");
static_assert(sizeof(ev_signal) <= sizeof(WatcherSlot::watcher) && alignof(ev_signal) <= 8,
              "WatcherSlot too small for ev_signal");
static_assert(sizeof(ev_async) <= sizeof(WatcherSlot::watcher) && alignof(ev_async) <= 8,
              "WatcherSlot too small for ev_async");

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

}  // namespace

Loop::Loop() {
    constexpr unsigned flags = unsigned{EVFLAG_NOENV} | unsigned{EVFLAG_NOSIGMASK};
    RuntimeScope ours;  // the epoll descriptor
    loop_ = ev_loop_new(unsigned{EVBACKEND_EPOLL} | flags);
    if (!loop_) loop_ = ev_loop_new(unsigned{EVFLAG_AUTO} | flags);
    if (!loop_) throw_errno(errno ? errno : ENOMEM, "green: ev_loop_new");
}

Loop::~Loop() {
    RuntimeScope ours;  // libev closes its epoll set and eventfd: the shim must let it
    ev_loop_destroy(loop_);
}

bool Loop::run_once(bool block) {
    RuntimeScope ours;  // after a fork, libev opens the new epoll set here
    return ev_run(loop_, block ? EVRUN_ONCE : EVRUN_NOWAIT) != 0;
}

void Loop::update_now() noexcept { ev_now_update(loop_); }

double Loop::now() const noexcept { return ev_now(loop_); }

void Loop::after_fork() noexcept { ev_loop_fork(loop_); }

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

bool timer_active(const WatcherSlot& t) noexcept {
    return ev_is_active(reinterpret_cast<const ev_timer*>(t.watcher));
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

bool io_active(const WatcherSlot& w) noexcept { return ev_is_active(reinterpret_cast<const ev_io*>(w.watcher)); }

void async_start(Loop& loop, WatcherSlot& w, void (*fn)(void*), void* arg) noexcept {
    auto* a = reinterpret_cast<ev_async*>(w.watcher);
    w.fn = fn;
    w.arg = arg;
    ev_async_init(a, fire<ev_async>);
    RuntimeScope ours;  // the first async watcher opens the loop's eventfd
    ev_async_start(LoopGlue::raw(loop), a);
    ev_unref(LoopGlue::raw(loop));
}

void async_send(Loop& loop, WatcherSlot& w) noexcept {
    RuntimeScope ours;  // libev writes to the loop's eventfd: a plain write, even from a greenlet
    ev_async_send(LoopGlue::raw(loop), reinterpret_cast<ev_async*>(w.watcher));
}

void async_stop(Loop& loop, WatcherSlot& w) noexcept {
    auto* a = reinterpret_cast<ev_async*>(w.watcher);
    if (!ev_is_active(a)) return;
    ev_ref(LoopGlue::raw(loop));
    ev_async_stop(LoopGlue::raw(loop), a);
}

void signal_start(Loop& loop, WatcherSlot& w, int signum, void (*fn)(void*), void* arg) noexcept {
    auto* sig = reinterpret_cast<ev_signal*>(w.watcher);
    w.fn = fn;
    w.arg = arg;
    ev_signal_init(sig, fire<ev_signal>, signum);
    RuntimeScope ours;  // may open the loop's signal pipe
    ev_signal_start(LoopGlue::raw(loop), sig);
    ev_unref(LoopGlue::raw(loop));
}

void signal_stop(Loop& loop, WatcherSlot& w) noexcept {
    auto* sig = reinterpret_cast<ev_signal*>(w.watcher);
    if (!ev_is_active(sig)) return;
    ev_ref(LoopGlue::raw(loop));
    ev_signal_stop(LoopGlue::raw(loop), sig);
}

}  // namespace green::detail
