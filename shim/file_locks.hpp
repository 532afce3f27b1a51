// File locks (flock, lockf, fcntl's record locks) that a greenlet waits for
// without blocking its thread: file_lock_hooks.cpp.
#pragma once

#include <fcntl.h>

namespace shim::file_locks {

// Whether `cmd` sets or clears a record lock; after one that worked, the fcntl
// hooks call retry::changed().
constexpr bool sets_lock(int cmd) noexcept {
    return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
}

// Whether fcntl would wait for the lock (F_SETLKW, F_OFD_SETLKW).
constexpr bool waits(int cmd) noexcept { return cmd == F_SETLKW || cmd == F_OFD_SETLKW; }

// fcntl(fd, cmd, lock) for a command that waits: cooperative where the
// greenlet may park. A cancellation point, as glibc's fcntl is for these. The
// caller tells the other waiters when it worked (retry::told).
int set_and_wait(int fd, int cmd, void* lock);

}  // namespace shim::file_locks
