// Per-fd wait state of one hub: who waits to read or write each descriptor, and
// the loop watchers that wake them.
//
// A watcher is started when the first greenlet waits and stopped before the
// loop's next poll if by then no one waits (stop_unwatched), so an idle readable
// fd never spins the loop, and a greenlet that waits again as soon as it was
// woken (a read loop, poll() called again) finds its watcher still running;
// libev's epoll backend keeps the kernel registration even across a stop, so
// the steady state costs no epoll_ctl. Closing an fd through the runtime
// (forget, then close) stops its watchers, wakes its waiters with EBADF and
// bumps the generation, so a waiter can tell that the number it waited on now
// names another file.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "green/detail/core.hpp"
#include "green/detail/watcher_slot.hpp"

namespace green::detail {

class Loop;

enum class Interest : std::uint8_t { read, write };

class FdTable;

struct UnwatchedTag;

struct FdState {
    struct Side : ListLink<UnwatchedTag> {
        WatcherSlot watcher;
        WaitList waiters;
        FdTable* table = nullptr;
    };
    Side read, write;
    std::uint32_t generation = 0;
    int fd = -1;

    Side& side(Interest i) noexcept { return i == Interest::read ? read : write; }
};

class FdTable {
public:
    explicit FdTable(Loop& loop) : loop_(loop) {}
    ~FdTable();
    FdTable(const FdTable&) = delete;
    FdTable& operator=(const FdTable&) = delete;

    // Parks the running greenlet until `fd` is ready for `what`, `timeout` passes
    // (returns false) or the fd is forgotten, i.e. closed through the runtime (throws
    // std::system_error(EBADF)). Throws std::system_error(EBADF) at once for a
    // descriptor that is not open.
    bool wait(int fd, Interest what, double timeout, const char* description) {
        const WakeReason reason = fd < 0 ? WakeReason::closed : wait_one(fd, what, timeout, nullptr, description);
        if (reason == WakeReason::closed) [[unlikely]]
            fail_closed(description);
        return reason != WakeReason::deadline;
    }

    // Parks the running greenlet until one of `n` descriptors is ready for its
    // interest, `timeout` passes, or a waiter on `also` is woken (then
    // WakeReason::woken too). Returns the wake reason; `closed` if one of them was
    // forgotten (closed through the runtime) meanwhile, or is not an open descriptor. Negative
    // fds are ignored.
    struct Interested {
        int fd;
        Interest what;
    };
    WakeReason wait_many(const Interested* fds, std::size_t n, double timeout, WaitList* also, const char* description);

    // Wakes every waiter on `fd` with EBADF and forgets the fd's watchers; call it
    // before the descriptor is really closed.
    void forget(int fd) noexcept;
    // forget() for every descriptor from `first` to `last` this table knows.
    void forget_range(unsigned first, unsigned last) noexcept;

    // The generation of `fd`: it changes every time forget() is called for it.
    std::uint32_t generation(int fd) const noexcept;

    // Before each poll of the loop (the hub): stops the watchers whose waiters
    // all left since the last poll and did not come back.
    void stop_unwatched() noexcept {
        if (!unwatched_.empty()) stop_unwatched_now();
    }

    // In a forked child: the waiters belong to greenlets that will never run
    // again; drop them and stop every watcher.
    void after_fork() noexcept;

private:
    FdState& state(int fd) {
        const auto index = static_cast<std::size_t>(fd);
        if (index < states_.size() && states_[index]) [[likely]]
            return *states_[index];
        return add_state(fd);
    }
    FdState& add_state(int fd);
    // Starts the side's watcher unless it runs; false if `fd` is not an open descriptor.
    bool watch(int fd, Interest what, FdState::Side& side) noexcept;
    WakeReason wait_one(int fd, Interest what, double timeout, WaitList* also, const char* description);
    [[noreturn, gnu::cold, gnu::noinline]] static void fail_closed(const char* description);
    // The side's waiters may all have left: its watcher stops at the next poll unless one comes back.
    void note_unwatched(FdState::Side& side) noexcept {
        if (!side.linked()) unwatched_.push_back(side);
    }
    void stop_unwatched_now() noexcept;
    static void on_ready(void* side) noexcept;

    Loop& loop_;
    std::vector<std::unique_ptr<FdState>> states_;
    List<FdState::Side, UnwatchedTag> unwatched_;
};

}  // namespace green::detail
