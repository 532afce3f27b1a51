// libev glue: the only file that includes ev.h (c-ares and I/O watchers aside,
// which live in their own glue files and reach the loop through Loop::raw()).
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
//   - ev_async_send is the only call made from other threads;
//   - ev_loop_fork re-creates the epoll set in a forked child.
#include "detail/loop.hpp"

#include <ev.h>

#include <cerrno>
#include <system_error>

namespace green::detail {

static_assert(sizeof(ev_timer) <= sizeof(TimerSlot::watcher), "TimerSlot too small for ev_timer");
static_assert(alignof(ev_timer) <= 8, "TimerSlot under-aligned for ev_timer");

struct Loop::Async {
    ev_async watcher;
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
};

Loop::Loop() {
    constexpr unsigned flags = unsigned{EVFLAG_NOENV} | unsigned{EVFLAG_NOSIGMASK};
    loop_ = ev_loop_new(unsigned{EVBACKEND_EPOLL} | flags);
    if (!loop_) loop_ = ev_loop_new(unsigned{EVFLAG_AUTO} | flags);
    if (!loop_) throw std::system_error(errno ? errno : ENOMEM, std::generic_category(), "green: ev_loop_new");
}

Loop::~Loop() {
    if (async_ && ev_is_active(&async_->watcher)) {
        ev_ref(loop_);
        ev_async_stop(loop_, &async_->watcher);
    }
    ev_loop_destroy(loop_);
}

bool Loop::run_once(bool block) { return ev_run(loop_, block ? EVRUN_ONCE : EVRUN_NOWAIT) != 0; }

void Loop::update_now() noexcept { ev_now_update(loop_); }

double Loop::now() const noexcept { return ev_now(loop_); }

void Loop::after_fork() noexcept { ev_loop_fork(loop_); }

void Loop::start_async(void (*fn)(void*), void* arg) {
    async_ = std::make_unique<Async>();
    async_->fn = fn;
    async_->arg = arg;
    ev_async_init(&async_->watcher, [](struct ev_loop*, ev_async* w, int) {
        auto* a = reinterpret_cast<Async*>(w);
        a->fn(a->arg);
    });
    ev_async_start(loop_, &async_->watcher);
    ev_unref(loop_);
}

void Loop::notify_async() noexcept { ev_async_send(loop_, &async_->watcher); }

void Loop::hold() noexcept { ev_ref(loop_); }
void Loop::unhold() noexcept { ev_unref(loop_); }

void timer_start(Loop& loop, TimerSlot& t, double after, void (*fn)(void*), void* arg) noexcept {
    auto* w = reinterpret_cast<ev_timer*>(t.watcher);
    t.fn = fn;
    t.arg = arg;
    ev_timer_init(w, [](struct ev_loop*, ev_timer* timer, int) {
        auto* slot = reinterpret_cast<TimerSlot*>(timer);
        slot->fn(slot->arg);
    }, after, 0.0);
    loop.update_now();
    ev_timer_start(loop.raw(), w);
}

void timer_stop(Loop& loop, TimerSlot& t) noexcept {
    ev_timer_stop(loop.raw(), reinterpret_cast<ev_timer*>(t.watcher));
}

bool timer_active(const TimerSlot& t) noexcept {
    return ev_is_active(reinterpret_cast<const ev_timer*>(t.watcher));
}

}  // namespace green::detail
