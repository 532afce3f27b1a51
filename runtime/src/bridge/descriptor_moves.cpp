// A program's dup2 or dup3 onto a number the runtime holds (shim_api.hpp,
// free_runtime_fd): the loop that owns it gives its descriptors new numbers
// (Loop::renew_descriptors) and the number is the program's, as it would be
// without the runtime.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "bridge/shim_api.hpp"
#include "core/carriers.hpp"
#include "core/hub.hpp"
#include "core/parking_lot.hpp"
#include "core/runtime_fds.hpp"

namespace green::detail::shim_api {
namespace {

// Whether `fd` is of the kind a loop holds (an epoll set or an eventfd), not a
// resolver's socket or a pidfd, which cannot move.
bool loop_kind(int fd) noexcept {
    char path[32], target[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(path, target, sizeof target - 1);
    if (n <= 0) return false;
    target[n] = 0;
    return std::strcmp(target, "anon_inode:[eventpoll]") == 0 || std::strcmp(target, "anon_inode:[eventfd]") == 0;
}

// Asks the hub of another thread (a carrier, whose loop always runs) to renew
// its loop's descriptors, and waits until it has.
struct Renewal : RemoteWork {
    int leave_free = -1;
    std::atomic<std::uint32_t> done{0};
};

void renew_on(Hub& hub, int leave_free) noexcept {
    Renewal r;
    r.leave_free = leave_free;
    r.run = [](Hub& h, RemoteWork& w) {
        // Posted work runs inside the loop; the renewal runs once the loop returned.
        auto* r = static_cast<Renewal*>(&w);
        h.call_soon([&h, r] {
            h.loop().renew_descriptors(r->leave_free);
            r->done.store(1, std::memory_order_release);
            lot::unpark(&r->done, SIZE_MAX, 0);
        });
    };
    hub.post(r);
    const auto not_done = [](void* p) { return static_cast<Renewal*>(p)->done.load(std::memory_order_acquire) == 0; };
    while (not_done(&r)) lot::park(&r.done, not_done, nullptr, &r, Deadline(), "dup2", true);
}

}  // namespace

bool free_runtime_fd(int fd) noexcept {
    if (!is_runtime_fd(fd)) return true;
    if (!loop_kind(fd)) return false;
    Hub* here = Hub::current_if_any();
    if (here && here->running() && !RuntimeScope::active()) {
        here->loop().renew_descriptors(fd);
        if (!is_runtime_fd(fd)) return true;
    }
    try {
        for (std::size_t i = 0; i < carriers::count(); ++i)
            if (Hub* other = carriers::hub(i); other && other != here) {
                renew_on(*other, fd);
                if (!is_runtime_fd(fd)) return true;
            }
    } catch (...) {  // call_soon's memory: the number stays the runtime's
    }
    return !is_runtime_fd(fd);
}

}  // namespace green::detail::shim_api
