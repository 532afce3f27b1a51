// flock, lockf and fcntl's F_SETLKW / F_OFD_SETLKW: a file lock held
// elsewhere, waited for by asking again (retry_wait.hpp). Two green threads of
// one carrier that lock one file through two opens (flock, OFD locks) would
// otherwise wait for each other forever, and one waiting for another
// process's lock would stop its carrier meanwhile. A handler without
// SA_RESTART ends the wait with EINTR, as the kernel's (signal(7) restarts
// these calls under SA_RESTART); F_SETLKW, F_OFD_SETLKW and lockf's F_LOCK are
// cancellation points, flock is not, as in glibc. What the kernel decides at
// once (EBADF, EINVAL, ENOLCK) is its answer. Lost: F_SETLKW's EDEADLK, which
// only the kernel's own wait detects, and the kernel's order among waiters.
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "cooperate.hpp"
#include "file_locks.hpp"
#include "real.hpp"
#include "retry_wait.hpp"
#include "threads/thread_state.hpp"

namespace shim::file_locks {
namespace {

bool held_elsewhere(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK || error == EACCES; }

template <class Try>
int wait_for(const char* what, Try&& try_lock) {
    return retry::wait(what, Restart::if_sa_restart, Deadline(), EAGAIN, try_lock, held_elsewhere);
}

}  // namespace

int set_and_wait(int fd, int cmd, void* lock) {
    if (!may_park()) return real::fcntl(fd, cmd, lock);
    const int now = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
    return threads::cancellation_point_keeping_success([&] {
        return wait_for("fcntl (a file lock)", [&] { return real::fcntl(fd, now, lock); });
    });
}

}  // namespace shim::file_locks

namespace locks = shim::file_locks;

GREEN_HOOK int flock(int fd, int operation) {
    const bool waits = !(operation & LOCK_NB) && (operation & (LOCK_SH | LOCK_EX));
    if (!waits || !shim::may_park()) return shim::retry::told(shim::real::flock(fd, operation));
    return shim::retry::told(locks::wait_for("flock", [&] { return shim::real::flock(fd, operation | LOCK_NB); }));
}

namespace {

int lockf_cooperatively(int fd, int cmd, off_t len, int (*real_lockf)(int, int, off_t)) {
    if (cmd == F_TEST) return real_lockf(fd, cmd, len);
    if (cmd != F_LOCK || !shim::may_park()) return shim::retry::told(real_lockf(fd, cmd, len));
    return shim::retry::told(shim::threads::cancellation_point_keeping_success(
        [&] { return locks::wait_for("lockf", [&] { return real_lockf(fd, F_TLOCK, len); }); }));
}

}  // namespace

GREEN_HOOK int lockf(int fd, int cmd, off_t len) { return lockf_cooperatively(fd, cmd, len, shim::real::lockf); }

GREEN_HOOK int lockf64(int fd, int cmd, off64_t len) {
    return lockf_cooperatively(fd, cmd, len, shim::real::lockf64);
}
