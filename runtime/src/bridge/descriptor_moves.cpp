// A program's dup2 or dup3 onto a number the runtime holds (shim_api.hpp,
// free_runtime_fd): the hub that owns it gives it up (Hub::give_up_descriptor:
// its loop's descriptors move, a resolver's socket closes) and the number is
// the program's, as it would be without the runtime.
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

// What a runtime descriptor is: a loop's (an epoll set, an eventfd), a
// resolver's socket, or what cannot move (a pidfd, a signalfd).
enum class Kind { loop, socket, fixed };

Kind kind_of(int fd) noexcept {
    char path[32], target[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(path, target, sizeof target - 1);
    if (n <= 0) return Kind::fixed;
    target[n] = 0;
    if (std::strcmp(target, "anon_inode:[eventpoll]") == 0 || std::strcmp(target, "anon_inode:[eventfd]") == 0)
        return Kind::loop;
    return std::strncmp(target, "socket:", 7) == 0 ? Kind::socket : Kind::fixed;
}

// Asks the hub of another thread (a carrier, whose loop always runs) to give
// up `fd` if it is one of its own, and waits until it has.
struct GiveUp : RemoteWork {
    int fd = -1;
    bool socket = false;
    std::atomic<std::uint32_t> done{0};
};

void give_up_on(Hub& hub, int fd, bool socket) noexcept {
    GiveUp r;
    r.fd = fd;
    r.socket = socket;
    r.run = [](Hub& h, RemoteWork& w) {
        // Posted work runs inside the loop; the loop's descriptors move once it returned.
        auto* r = static_cast<GiveUp*>(&w);
        const auto finish = [r] {
            r->done.store(1, std::memory_order_release);
            lot::unpark(&r->done, SIZE_MAX, 0);
        };
        try {
            h.call_soon([&h, r, finish] {
                h.give_up_descriptor(r->fd, r->socket);
                finish();
            });
        } catch (...) {  // no memory for the callback: the number stays the runtime's
            finish();
        }
    };
    hub.post(r);
    const auto not_done = [](void* p) { return static_cast<GiveUp*>(p)->done.load(std::memory_order_acquire) == 0; };
    while (not_done(&r)) lot::park(&r.done, not_done, nullptr, &r, Deadline(), "dup2", true);
}

}  // namespace

bool free_runtime_fd(int fd) noexcept {
    if (!is_runtime_fd(fd)) return true;
    const Kind kind = kind_of(fd);
    if (kind == Kind::fixed) return false;
    const bool socket = kind == Kind::socket;
    Hub* here = Hub::current_if_any();
    if (here && here->running() && !RuntimeScope::active()) {
        here->give_up_descriptor(fd, socket);
        if (!is_runtime_fd(fd)) return true;
    }
    for (std::size_t i = 0; i < carriers::count(); ++i)
        if (Hub* other = carriers::hub(i); other && other != here) {
            give_up_on(*other, fd, socket);
            if (!is_runtime_fd(fd)) return true;
        }
    return false;
}

int avoid_runtime_fd(int fd) noexcept { return detail::avoid_runtime_fd(fd); }

void stop_avoiding_runtime_fd(int slot) noexcept { detail::stop_avoiding_runtime_fd(slot); }

void lock_runtime_fd_creation() noexcept { detail::lock_runtime_fd_creation(); }

void unlock_runtime_fd_creation() noexcept { detail::unlock_runtime_fd_creation(); }

}  // namespace green::detail::shim_api
