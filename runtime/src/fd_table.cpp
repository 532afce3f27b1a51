#include "detail/fd_table.hpp"

#include <cerrno>
#include <system_error>

#include "detail/hub.hpp"
#include "detail/loop.hpp"

namespace green::detail {

FdTable::~FdTable() {
    for (auto& s : states_) {
        if (!s) continue;
        if (io_active(s->read.watcher)) io_stop(loop_, s->read.watcher);
        if (io_active(s->write.watcher)) io_stop(loop_, s->write.watcher);
    }
}

FdState& FdTable::state(int fd) {
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
    side.waiters.wake_all(WakeReason::woken);
    // Woken waiters that still find nothing to do start it again; until then an
    // unread readable fd must not keep the loop spinning.
    io_stop(side.table->loop_, side.watcher);
}

bool FdTable::wait(int fd, Interest what, double timeout, const char* description) {
    if (fd < 0) throw std::system_error(EBADF, std::generic_category(), description);
    FdState& st = state(fd);
    FdState::Side& side = st.side(what);
    if (!io_active(side.watcher)) io_start(loop_, side.watcher, fd, what == Interest::write, on_ready, &side);
    const std::uint32_t generation = st.generation;
    WakeReason reason = WakeReason::closed;
    try {
        reason = Hub::current().park(&side.waiters, timeout, description, &st);
    } catch (...) {
        if (side.waiters.empty() && io_active(side.watcher)) io_stop(loop_, side.watcher);
        throw;
    }
    // Nobody left waiting: an unread readable fd must not keep the loop spinning.
    if (side.waiters.empty() && io_active(side.watcher)) io_stop(loop_, side.watcher);
    if (reason == WakeReason::closed || st.generation != generation)
        throw std::system_error(EBADF, std::generic_category(), description);
    return reason != WakeReason::deadline;
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
    for (auto& s : states_) {
        if (!s) continue;
        for (FdState::Side* side : {&s->read, &s->write}) {
            if (io_active(side->watcher)) io_stop(loop_, side->watcher);
            while (!side->waiters.empty()) side->waiters.pop_front();
        }
    }
}

std::uint32_t FdTable::generation(int fd) const noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= states_.size() || !states_[fd]) return 0;
    return states_[fd]->generation;
}

}  // namespace green::detail
