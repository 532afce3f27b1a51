// flock, lockf and fcntl's F_SETLKW / F_OFD_SETLKW: a file lock held
// elsewhere. The kernel's wait blocks the whole thread, and with it every
// greenlet of its hub: two green threads of one carrier that lock one file
// through two opens (flock, OFD locks) would wait for each other forever, and
// one waiting for another process's lock would stop its carrier meanwhile.
//
// Where the greenlet may park, the hook asks the call's non-blocking form and,
// while the lock is held elsewhere, parks until this process changes a lock
// (an unlock, a downgrade or a close that may let it in: lock_changed) or a
// pause passes that grows to 50 ms (another process's unlock wakes nobody
// here). A handler without SA_RESTART ends the wait with EINTR, as the
// kernel's (signal(7) restarts these calls under SA_RESTART); F_SETLKW,
// F_OFD_SETLKW and lockf's F_LOCK are cancellation points, flock is not, as
// in glibc. What the kernel decides at once (EBADF, EINVAL, ENOLCK) is its
// answer. Lost: F_SETLKW's EDEADLK, which only the kernel's own wait detects,
// and the kernel's order among waiters.
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "cooperate.hpp"
#include "file_locks.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

namespace shim::file_locks {
namespace {

namespace api = green::detail::shim_api;

std::atomic<int> waiting{0};
// Counts lock_changed() calls; the waiters park on its address.
std::atomic<std::uint32_t> changes{0};

bool held_elsewhere(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK || error == EACCES; }

bool unchanged(void* seen) noexcept {
    return changes.load(std::memory_order_acquire) == *static_cast<std::uint32_t*>(seen);
}

// Asks `try_lock` (the non-blocking call) until it does not fail for a lock
// held elsewhere, parking in between.
template <class Try>
int wait_for(const char* what, Try&& try_lock) {
    const SignalCheck signals(Restart::if_sa_restart);
    waiting.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
        ~Leave() { waiting.fetch_sub(1, std::memory_order_relaxed); }
    } leave;
    for (double pause = 0.001;; pause = std::min(pause * 2, 0.05)) {
        std::uint32_t seen = changes.load(std::memory_order_acquire);
        const int r = try_lock();
        if (r == 0 || !held_elsewhere(errno)) return r;
        if (signals.interrupted()) {
            errno = EINTR;
            return -1;
        }
        try {
            api::park(&changes, unchanged, nullptr, &seen, Deadline::after(pause), what, true, true);
        } catch (const api::ThreadCancel&) {
            errno = EINTR;  // the cancellation point around acts on it
            return -1;
        }
    }
}

}  // namespace

void lock_changed() noexcept {
    if (waiting.load(std::memory_order_seq_cst) == 0) return;
    changes.fetch_add(1, std::memory_order_acq_rel);
    api::unpark(&changes, SIZE_MAX, 0, true);  // true: a close may come from a signal handler
}

int set_and_wait(int fd, int cmd, void* lock) {
    if (!may_park()) {
        const int r = real::fcntl(fd, cmd, lock);
        if (r == 0) lock_changed();
        return r;
    }
    const int now = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
    const int r = threads::cancellation_point([&] {
        return wait_for("fcntl (a file lock)", [&] { return real::fcntl(fd, now, lock); });
    });
    if (r == 0) lock_changed();
    return r;
}

}  // namespace shim::file_locks

namespace locks = shim::file_locks;

GREEN_HOOK int flock(int fd, int operation) {
    const bool waits = !(operation & LOCK_NB) && (operation & (LOCK_SH | LOCK_EX));
    int r;
    if (waits && shim::may_park())
        r = locks::wait_for("flock", [&] { return shim::real::flock(fd, operation | LOCK_NB); });
    else
        r = shim::real::flock(fd, operation);
    if (r == 0) locks::lock_changed();
    return r;
}

namespace {

int lockf_cooperatively(int fd, int cmd, off_t len, int (*real_lockf)(int, int, off_t)) {
    int r;
    if (cmd == F_LOCK && shim::may_park())
        r = shim::threads::cancellation_point(
            [&] { return locks::wait_for("lockf", [&] { return real_lockf(fd, F_TLOCK, len); }); });
    else
        r = real_lockf(fd, cmd, len);
    if (r == 0 && cmd != F_TEST) locks::lock_changed();
    return r;
}

}  // namespace

GREEN_HOOK int lockf(int fd, int cmd, off_t len) { return lockf_cooperatively(fd, cmd, len, shim::real::lockf); }

GREEN_HOOK int lockf64(int fd, int cmd, off64_t len) {
    return lockf_cooperatively(fd, cmd, len, shim::real::lockf64);
}
