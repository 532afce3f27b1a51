// socket, socketpair, accept, accept4, connect, setsockopt, getsockopt.
//
// The shim keeps no per-descriptor state: it never changes a descriptor's flags
// or timeouts, so socket, socketpair, setsockopt and getsockopt forward
// unchanged, and F_GETFL, SO_RCVTIMEO and SO_SNDTIMEO read back exactly what the
// program set. Blocking calls read them from the kernel when they would wait.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

using shim::may_park;

namespace {

int made(int fd) noexcept {
    shim::fd_facts::mark_alone(fd);
    return fd;
}

}  // namespace

GREEN_HOOK int socket(int domain, int type, int protocol) noexcept {
    return made(shim::real::socket(domain, type, protocol));
}

GREEN_HOOK int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
    const int r = shim::real::socketpair(domain, type, protocol, sv);
    if (r == 0) made(sv[0]), made(sv[1]);
    return r;
}

GREEN_HOOK int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
    const int r = shim::real::setsockopt(fd, level, name, value, len);
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) shim::fd_facts::flags_changed(fd);
    return r;
}

GREEN_HOOK int getsockopt(int fd, int level, int name, void* __restrict value, socklen_t* __restrict len) noexcept {
    return shim::real::getsockopt(fd, level, name, value, len);
}

namespace {

// The look for a connection and its accept, one green thread of the process
// at a time per listener. Green threads on two carriers (a server whose
// threads all accept on one listener, under --threads=2) both found the one
// connection there; the second one's accept then blocked its carrier until
// the next connection came. A thread that finds another at it waits for
// readiness again. Listeners whose slot another listener holds go unguarded,
// as before.
class AcceptTurn {
public:
    explicit AcceptTurn(int fd) noexcept : slot_(slots_[static_cast<unsigned>(fd) % kSlots]), mine_(fd + 1) {
        int free = 0;
        held_ = slot_.compare_exchange_strong(free, mine_, std::memory_order_acquire);
        taken_ = !held_ && free == mine_;
    }
    ~AcceptTurn() {
        if (held_) slot_.store(0, std::memory_order_release);
    }
    AcceptTurn(const AcceptTurn&) = delete;
    AcceptTurn& operator=(const AcceptTurn&) = delete;
    // Another green thread of the process is accepting on this listener now.
    bool taken() const noexcept { return taken_; }

private:
    static constexpr unsigned kSlots = 256;
    static inline std::atomic<int> slots_[kSlots];
    std::atomic<int>& slot_;
    const int mine_;
    bool held_ = false;
    bool taken_ = false;
};

}  // namespace

// accept has no per-call non-blocking flag: it waits for readiness, then calls
// the plain accept, which then finds the connection waiting. (A listener shared
// with another process that takes the connection first can make that accept
// block the thread until the next one; setting O_NONBLOCK instead would change
// the listener for that other process.)
GREEN_HOOK int accept4(int fd, sockaddr* __restrict addr, socklen_t* __restrict len, int flags) {
    if (!may_park()) return made(shim::real::accept4(fd, addr, len, flags));
    return made(shim::threads::cancellation_point([&]() noexcept -> int {
        return static_cast<int>(shim::cooperate(fd, false, shim::Restart::if_sa_restart, [&]() -> long {
            const AcceptTurn turn(fd);
            pollfd p{fd, POLLIN, 0};
            if (turn.taken() || shim::real::poll(&p, 1, 0) == 0) {
                errno = EAGAIN;
                return -1;
            }
            return shim::real::accept4(fd, addr, len, flags);
        }));
    }));
}

GREEN_HOOK int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict len) { return accept4(fd, addr, len, 0); }

// connect has no per-call flag either: each connect(2) call runs with
// O_NONBLOCK set for its duration (the handshake then goes on in the kernel while
// the greenlet waits for writability), and the program's flags are restored
// before anything else can run on this thread. Once writable, connect is called
// again rather than SO_ERROR read: that call reports the handshake's outcome and
// moves the socket to "connected", so the program's own next connect() fails
// with EISCONN as it would after a blocking connect.
GREEN_HOOK int connect(int fd, const sockaddr* addr, socklen_t len) {
    if (!may_park()) return shim::real::connect(fd, addr, len);
    return shim::threads::cancellation_point([&]() noexcept -> int {
        const int flags = shim::real::fcntl(fd, F_GETFL, nullptr);
        if (flags < 0 || (flags & O_NONBLOCK)) return shim::real::connect(fd, addr, len);
        shim::Blocker blocker(fd, true, shim::Restart::if_sa_restart);
        for (bool started = false;; started = true) {
            const long r = shim::with_nonblocking(fd, [&] { return shim::real::connect(fd, addr, len); });
            const int err = errno;
            if (r == 0 || (started && err == EISCONN)) return 0;
            // EAGAIN: a unix listener's backlog is full. EALREADY: still connecting.
            if (err != EINPROGRESS && err != EALREADY && err != EAGAIN) {
                errno = err;
                return -1;
            }
            if (blocker.wait() < 0) {
                // When SO_SNDTIMEO passes a blocking TCP connect says EINPROGRESS, a unix one EAGAIN.
                if (errno == EAGAIN && err != EAGAIN) errno = EINPROGRESS;
                return -1;
            }
        }
    });
}
