#include "core/fd_table.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>

#include "base/sys.hpp"

#include "core/park.hpp"
#include "core/loop.hpp"

namespace green::detail {

FdTable::~FdTable() {
    for (auto& s : states_) {
        if (!s) continue;
        if (io_active(s->read.watcher)) io_stop(loop_, s->read.watcher);
        if (io_active(s->write.watcher)) io_stop(loop_, s->write.watcher);
    }
}

FdState& FdTable::add_state(int fd) {
    const auto index = static_cast<std::size_t>(fd);
    if (index >= states_.size()) states_.resize(index + 1 + index / 2);
    auto& s = states_[index];
    if (!s) {
        s = std::make_unique<FdState>();
        s->fd = fd;
        s->read.table = s->write.table = this;
    }
    return *s;
}

void FdTable::on_ready(void* arg) noexcept {
    auto& side = *static_cast<FdState::Side*>(arg);
    wake_all_here(side.waiters, WakeReason::woken);
    // Woken waiters that still find nothing to do wait again before the next
    // poll; if none does, an unread readable fd must not keep the loop spinning.
    side.table->note_unwatched(side);
}

void FdTable::stop_unwatched_now() noexcept {
    while (!unwatched_.empty()) {
        FdState::Side& side = unwatched_.pop_front();
        if (side.waiters.empty() && io_active(side.watcher)) io_stop(loop_, side.watcher);
    }
}

bool FdTable::watch(int fd, Interest what, FdState::Side& side) noexcept {
    return io_active(side.watcher) || io_start(loop_, side.watcher, fd, what == Interest::write, on_ready, &side);
}

// The hot path of every socket call and of the shim's every wait: one fd, so
// the waiter is park()'s own and nothing is set up for the general case of
// wait_many. `closed` if the fd was forgotten (closed through the runtime) meanwhile.
WakeReason FdTable::wait_one(int fd, Interest what, double timeout, WaitList* also, const char* description) {
    FdState& st = state(fd);
    FdState::Side& side = st.side(what);
    if (!watch(fd, what, side)) return WakeReason::closed;
    const std::uint32_t generation = st.generation;
    struct StopWhenUnwatched {
        FdTable& table;
        FdState::Side& side;
        ~StopWhenUnwatched() {
            if (side.waiters.empty()) table.note_unwatched(side);
        }
    } stop{*this, side};
    Hub& hub = Hub::current();
    std::optional<Waiter> extra;  // only for the rare `also`
    if (also) also->push_back(extra.emplace(hub.running()));
    const WakeReason reason = hub.park_inline(&side.waiters, timeout, description, &st);
    return st.generation != generation ? WakeReason::closed : reason;
}

void FdTable::fail_closed(const char* description) { throw_errno(EBADF, description); }

WakeReason FdTable::wait_many(const Interested* fds, std::size_t n, double timeout, WaitList* also,
                              const char* description) {
    if (n == 1 && fds[0].fd >= 0) return wait_one(fds[0].fd, fds[0].what, timeout, also, description);
    Hub& hub = Hub::current();
    GreenletCore& self = current();
    // One waiter per fd; a handful live on this stack, more (poll of thousands) on the heap.
    struct Entry {
        FdState* state = nullptr;
        FdState::Side* side = nullptr;
        std::uint32_t generation = 0;
    };
    constexpr std::size_t kInline = 8;
    Waiter inline_waiters[kInline] = {Waiter(&self), Waiter(&self), Waiter(&self), Waiter(&self),
                                      Waiter(&self), Waiter(&self), Waiter(&self), Waiter(&self)};
    Entry inline_entries[kInline];
    std::unique_ptr<Waiter[]> heap_waiters;
    std::unique_ptr<Entry[]> heap_entries;
    Waiter* waiters = inline_waiters;
    Entry* entries = inline_entries;
    if (n > kInline) {
        heap_waiters.reset(new Waiter[n]);
        heap_entries.reset(new Entry[n]);
        waiters = heap_waiters.get();
        entries = heap_entries.get();
    }
    struct Cleanup {
        FdTable& table;
        Waiter* waiters;
        Entry* entries;
        std::size_t n;
        ~Cleanup() {
            for (std::size_t i = 0; i < n; ++i) {
                if (!entries[i].side) continue;
                if (waiters[i].linked()) unlink(waiters[i]);
                if (entries[i].side->waiters.empty()) table.note_unwatched(*entries[i].side);
            }
        }
    } cleanup{*this, waiters, entries, n};
    for (std::size_t i = 0; i < n; ++i) {
        if (fds[i].fd < 0) continue;
        FdState& st = state(fds[i].fd);
        FdState::Side& side = st.side(fds[i].what);
        if (!watch(fds[i].fd, fds[i].what, side)) return WakeReason::closed;
        waiters[i].greenlet = &self;
        side.waiters.push_back(waiters[i]);
        entries[i] = Entry{&st, &side, st.generation};
    }
    Waiter extra(&self);
    if (also) also->push_back(extra);
    WakeReason reason = hub.park(nullptr, timeout, description, n == 1 ? static_cast<const void*>(entries[0].state) : fds);
    for (std::size_t i = 0; i < n; ++i)
        if (entries[i].state && entries[i].state->generation != entries[i].generation) reason = WakeReason::closed;
    return reason;
}

void FdTable::forget(int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= states_.size() || !states_[fd]) return;
    FdState& st = *states_[fd];
    ++st.generation;
    for (FdState::Side* side : {&st.read, &st.write}) {
        if (io_active(side->watcher)) io_stop(loop_, side->watcher);
        side->watcher = WatcherSlot{};  // the number may name a new file next: register it afresh
        side->waiters.wake_all(WakeReason::closed);
    }
}

void FdTable::after_fork() noexcept {
    while (!unwatched_.empty()) unwatched_.pop_front();
    for (auto& s : states_) {
        if (!s) continue;
        for (FdState::Side* side : {&s->read, &s->write}) {
            if (io_active(side->watcher)) io_stop(loop_, side->watcher);
            while (!side->waiters.empty()) side->waiters.pop_front();
        }
    }
}

void FdTable::forget_range(unsigned first, unsigned last) noexcept {
    const std::size_t end = std::min<std::size_t>(states_.size(), std::size_t{last} + 1);
    for (std::size_t fd = first; fd < end; ++fd)
        if (states_[fd]) forget(static_cast<int>(fd));
}

std::uint32_t FdTable::generation(int fd) const noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= states_.size() || !states_[fd]) return 0;
    return states_[fd]->generation;
}

}  // namespace green::detail
