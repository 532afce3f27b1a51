// A program's dup2 or dup3 onto a number the runtime holds (shim_api.hpp,
// free_runtime_fd): the hub that owns it gives it up (Hub::give_up_descriptor:
// its loop's descriptors move, a resolver's socket or a parked call's pidfd or
// signalfd closes), or a loop's own is taken from it while its thread is away
// (Loop::give_up_while_away), and the number is the program's, as it would be
// without the runtime.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "bridge/shim_api.hpp"
#include "core/hub.hpp"
#include "core/hub_registry.hpp"
#include "core/parking_lot.hpp"
#include "core/runtime_fds.hpp"

namespace green::detail::shim_api {
namespace {

// What a runtime descriptor is, or nothing the runtime knows how to give up.
bool kind_of(int fd, RuntimeFdKind& kind) noexcept {
    char path[32], target[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(path, target, sizeof target - 1);
    if (n <= 0) return false;
    target[n] = 0;
    const auto is = [&target](const char* name) { return std::strcmp(target, name) == 0; };
    if (is("anon_inode:[eventpoll]"))
        kind = RuntimeFdKind::epoll_set;
    else if (is("anon_inode:[eventfd]"))
        kind = RuntimeFdKind::eventfd;
    else if (std::strncmp(target, "socket:", 7) == 0)
        kind = RuntimeFdKind::socket;
    else if (is("anon_inode:[pidfd]") || is("anon_inode:[signalfd]"))
        kind = RuntimeFdKind::held;
    else
        return false;
    return true;
}

// A request to the hub of another thread to give up `fd` if it is one of its
// own. The sender and the hub share it: the sender may stop waiting (a hub
// that is no carrier may not run its loop for a long time), and such a hub may
// go first (its descriptors then close with it).
struct GiveUp : RemoteWork {
    int fd = -1;
    RuntimeFdKind kind = RuntimeFdKind::epoll_set;
    bool carrier = false;
    std::atomic<std::uint32_t> done{0};
    std::shared_ptr<GiveUp> hubs_share;  // until the hub ran or dropped it

    void finish() noexcept {
        done.store(1, std::memory_order_release);
        lot::unpark(&done, SIZE_MAX, 0);
    }
};

// Posts a GiveUp to `hub` (null when there is no memory for it).
std::shared_ptr<GiveUp> ask(Hub& hub, int fd, RuntimeFdKind kind) noexcept {
    std::shared_ptr<GiveUp> r;
    try {
        r = std::make_shared<GiveUp>();
    } catch (...) {
        return nullptr;
    }
    r->fd = fd;
    r->kind = kind;
    r->carrier = hub.carrier();
    r->hubs_share = r;
    r->run = [](Hub& h, RemoteWork& w) {
        // Posted work runs inside the loop; the loop's descriptors move once it returned.
        std::shared_ptr<GiveUp> r = std::move(static_cast<GiveUp&>(w).hubs_share);
        try {
            h.call_soon([&h, r] {
                h.give_up_descriptor(r->fd, r->kind);
                r->finish();
            });
        } catch (...) {  // no memory for the callback: the number stays the runtime's
            r->finish();
        }
    };
    r->drop = [](RemoteWork& w) {
        auto& r = static_cast<GiveUp&>(w);
        r.finish();
        r.hubs_share.reset();  // may free r
    };
    hub.post(*r);
    return r;
}

void wait_until_done(GiveUp& r, Deadline deadline) noexcept {
    const auto not_done = [](void* p) { return static_cast<GiveUp*>(p)->done.load(std::memory_order_acquire) == 0; };
    while (not_done(&r))
        if (lot::park(&r.done, not_done, nullptr, &r, deadline, "dup2", true).result == lot::ParkResult::timed_out)
            return;
}

// How long a program's dup2 waits for the hub of a thread that is no carrier,
// whose loop runs only while that thread waits in it.
constexpr double kOtherHubWait = 0.5;
// How long it waits for a loop that owns the number and polls, asked to give
// it up: at most one round of that loop, unless something is badly wrong.
constexpr double kOwningLoopWait = 10.0;

enum class Freed { no, yes, not_a_loops };

// A loop's epoll set or wake-up eventfd (Loop::owns): its hub gives it up in
// its loop, asked, or, while its thread is away from the loop (busy outside
// green, perhaps for good), this thread takes it (Loop::give_up_while_away).
// Where it cannot take it (no barrier, no descriptor), the hub of a thread
// that is no carrier is waited for as for its other descriptors.
Freed freed_by_its_loop(int fd, RuntimeFdKind kind, Hub* here) noexcept {
    std::shared_ptr<GiveUp> asked;
    Deadline enough = Deadline::after(kOwningLoopWait);
    const Deadline soon = Deadline::after(kOtherHubWait);
    for (double pause = 1e-3; is_runtime_fd(fd); pause = std::min(2 * pause, 0.05)) {
        Loop::Take take = Loop::Take::not_owned;
        bool carrier = false;
        try {
            RuntimeScope ours;  // the allocator must not take a turn under the registry's lock
            for_each_hub([&](Hub& h) {
                if (take != Loop::Take::not_owned) return;
                take = h.loop().give_up_while_away(fd);
                carrier = h.carrier();
                if (take != Loop::Take::taken && take != Loop::Take::not_owned && !asked && &h != here)
                    asked = ask(h, fd, kind);  // its own thread cannot answer while it waits here
            });
        } catch (...) {  // no memory to ask: taken while away, or not at all
        }
        if (take == Loop::Take::taken) return Freed::yes;
        if (take == Loop::Take::not_owned && !asked) return Freed::not_a_loops;
        if (take == Loop::Take::failed && !carrier) enough = earliest(enough, soon);
        if (!asked || asked->done.load(std::memory_order_acquire) != 0 || enough.passed()) break;
        wait_until_done(*asked, earliest(enough, Deadline::after(pause)));
    }
    return is_runtime_fd(fd) ? Freed::no : Freed::yes;
}

}  // namespace

bool free_runtime_fd(int fd) noexcept {
    if (!is_runtime_fd(fd)) return true;
    RuntimeFdKind kind;
    if (!kind_of(fd, kind)) return false;
    Hub* here = Hub::current_if_any();
    if (here && here->running() && !RuntimeScope::active()) {
        here->give_up_descriptor(fd, kind);
        if (!is_runtime_fd(fd)) return true;
    }
    if (kind == RuntimeFdKind::epoll_set || kind == RuntimeFdKind::eventfd) {
        const Freed freed = freed_by_its_loop(fd, kind, here);
        if (freed != Freed::not_a_loops) return freed == Freed::yes;
    }
    // Every other hub is asked at once, and answers once its loop runs: a
    // carrier's always does; another thread's hub is waited for a while.
    std::vector<std::shared_ptr<GiveUp>> asked;
    try {
        RuntimeScope ours;  // the allocator must not take a turn under the registry's lock
        for_each_hub([&](Hub& h) {
            if (&h == here) return;
            if (auto r = ask(h, fd, kind)) asked.push_back(std::move(r));
        });
    } catch (...) {  // no memory: the hubs already asked are waited for
    }
    const Deadline soon = Deadline::after(kOtherHubWait);
    for (const auto& r : asked) {
        if (!is_runtime_fd(fd)) return true;
        wait_until_done(*r, r->carrier ? Deadline() : soon);
    }
    return !is_runtime_fd(fd);
}

int avoid_runtime_fd(int fd) noexcept { return detail::avoid_runtime_fd(fd); }

void stop_avoiding_runtime_fd(int slot) noexcept { detail::stop_avoiding_runtime_fd(slot); }

void lock_runtime_fd_creation() noexcept { detail::lock_runtime_fd_creation(); }

void unlock_runtime_fd_creation() noexcept { detail::unlock_runtime_fd_creation(); }

}  // namespace green::detail::shim_api
