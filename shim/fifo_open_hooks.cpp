// open, openat, fopen and their 64-bit and fortified names, for a FIFO: an
// open for reading waits in the kernel until a writer opens it, one for
// writing until a reader does. That wait would block the whole thread, and
// with it every greenlet of its hub (a daemon thread that opens its control
// FIFO and waits for an operator stopped every other thread of the carrier;
// two green threads of one carrier opening the two ends waited forever). No
// descriptor tells when the other end opens, so where the greenlet may park
// the open is made on a helper thread of its own (signals blocked, a small
// stack) and the greenlet parks until it ends. A signal handler without
// SA_RESTART ends the wait with EINTR and a cancellation ends the thread, as
// they end the kernel's (these opens are cancellation points); the helper
// then stays in its open and closes what it gets. Every other open is the
// plain call, after a stat that tells the FIFO (only where the greenlet may park).
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cooperate.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

extern "C" [[noreturn]] void __chk_fail(void);

namespace shim {
namespace {

namespace api = green::detail::shim_api;

// Whether open(path, flags) would wait for the other end of a FIFO.
bool waits_for_peer(int dirfd, const char* path, int flags) noexcept {
    const int access = flags & O_ACCMODE;
    if ((access != O_RDONLY && access != O_WRONLY) || (flags & (O_NONBLOCK | O_PATH)) || !path) return false;
    struct stat st;
    return fstatat(dirfd, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 && S_ISFIFO(st.st_mode);
}

enum : int { kRunning, kDone, kAbandoned };

// One open on a helper thread; the helper and the waiter each hold a reference.
struct PendingOpen {
    std::atomic<int> refs{2};
    std::atomic<int> state{kRunning};
    int dirfd = AT_FDCWD;
    int flags = 0;
    mode_t mode = 0;
    int fd = -1;
    int error = 0;
    char path[1];  // more allocated

    static PendingOpen* make(int dirfd, const char* path, int flags, mode_t mode) noexcept {
        const std::size_t length = std::strlen(path);
        void* memory = std::malloc(sizeof(PendingOpen) + length);
        if (!memory) return nullptr;
        auto* op = new (memory) PendingOpen;
        op->dirfd = dirfd;
        op->flags = flags;
        op->mode = mode;
        std::memcpy(op->path, path, length + 1);
        return op;
    }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        this->~PendingOpen();
        std::free(this);
    }
};

void* open_on_helper(void* arg) {
    auto& op = *static_cast<PendingOpen*>(arg);
    op.fd = real::openat(op.dirfd, op.path, op.flags, op.mode);
    op.error = errno;
    int running = kRunning;
    if (op.state.compare_exchange_strong(running, kDone, std::memory_order_acq_rel))
        api::unpark(&op.state, SIZE_MAX, 0, false);
    else if (op.fd >= 0)
        real::close(op.fd);  // the waiter gave up
    op.release();
    return nullptr;
}

bool still_running(void* op) noexcept {
    return static_cast<PendingOpen*>(op)->state.load(std::memory_order_acquire) == kRunning;
}

bool start_helper(PendingOpen* op) noexcept {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return false;
    sigset_t all;
    sigfillset(&all);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setsigmask_np(&attr, &all);
    pthread_t helper;
    const bool started = real::pthread_create(&helper, &attr, open_on_helper, op) == 0;
    pthread_attr_destroy(&attr);
    return started;
}

// The open, its wait for the other end made on a helper thread.
int open_beside(int dirfd, const char* path, int flags, mode_t mode) {
    PendingOpen* op = PendingOpen::make(dirfd, path, flags, mode);
    if (!op) return real::openat(dirfd, path, flags, mode);
    if (!start_helper(op)) {
        op->~PendingOpen();
        std::free(op);
        return real::openat(dirfd, path, flags, mode);  // blocks the thread, as before
    }
    const SignalCheck signals(Restart::if_sa_restart);
    int result = -1, error = EINTR;
    for (;;) {
        if (op->state.load(std::memory_order_acquire) == kDone) {
            result = op->fd;
            error = op->error;
            break;
        }
        bool cancelled = false;
        if (!signals.interrupted()) {
            try {
                api::park(&op->state, still_running, nullptr, op, Deadline(), "open (a FIFO)", true, true);
                continue;
            } catch (const api::ThreadCancel&) {
                cancelled = true;
            }
        }
        // A handler or a cancellation ends the wait; the helper keeps the open.
        int running = kRunning;
        if (!op->state.compare_exchange_strong(running, kAbandoned, std::memory_order_acq_rel)) {
            if (cancelled && op->fd >= 0) real::close(op->fd);  // done meanwhile, but the thread ends
            if (!cancelled) {
                result = op->fd;
                error = op->error;
            }
        }
        break;
    }
    op->release();
    errno = error;
    return result;
}

int open_at(int dirfd, const char* path, int flags, mode_t mode) {
    if (!may_park() || !waits_for_peer(dirfd, path, flags)) return real::openat(dirfd, path, flags, mode);
    return threads::cancellation_point([&] { return open_beside(dirfd, path, flags, mode); });
}

// glibc reads the mode argument only for these flags.
bool needs_mode(int flags) noexcept { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

// The open flags of an fopen mode ("r", "w", "a", with "e" for O_CLOEXEC) when
// the stream's open may wait for a FIFO's other end; false for the rest
// ("+" opens for both, "x" and ",ccs=" are left to glibc).
bool fopen_flags(const char* mode, int& flags) noexcept {
    if (!mode) return false;
    switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return false;
    }
    for (const char* m = mode + 1; *m && *m != ','; ++m) {
        if (*m == '+' || *m == 'x') return false;
        if (*m == 'e') flags |= O_CLOEXEC;
    }
    return !std::strchr(mode, ',');
}

FILE* fopen_at(const char* path, const char* mode, FILE* (*real_fopen)(const char*, const char*)) {
    int flags = 0;
    if (!may_park() || !fopen_flags(mode, flags) || !waits_for_peer(AT_FDCWD, path, flags)) return real_fopen(path, mode);
    const int fd = threads::cancellation_point([&] { return open_beside(AT_FDCWD, path, flags, 0666); });
    if (fd < 0) return nullptr;
    FILE* f = fdopen(fd, mode);
    if (!f) {
        const int error = errno;
        real::close(fd);
        errno = error;
    }
    return f;
}

}  // namespace
}  // namespace shim

#define SHIM_MODE_ARG(flags)                                       \
    mode_t mode = 0;                                               \
    if (shim::needs_mode(flags)) {                                 \
        va_list ap;                                                \
        va_start(ap, flags);                                       \
        mode = static_cast<mode_t>(va_arg(ap, unsigned int));      \
        va_end(ap);                                                \
    }

GREEN_HOOK int open(const char* path, int flags, ...) {
    SHIM_MODE_ARG(flags)
    return shim::open_at(AT_FDCWD, path, flags, mode);
}

GREEN_HOOK int open64(const char* path, int flags, ...) {
    SHIM_MODE_ARG(flags)
    return shim::open_at(AT_FDCWD, path, flags, mode);
}

GREEN_HOOK int openat(int dirfd, const char* path, int flags, ...) {
    SHIM_MODE_ARG(flags)
    return shim::open_at(dirfd, path, flags, mode);
}

GREEN_HOOK int openat64(int dirfd, const char* path, int flags, ...) {
    SHIM_MODE_ARG(flags)
    return shim::open_at(dirfd, path, flags, mode);
}

// The fortified two-argument forms: a flag that needs a mode is a bug glibc reports.
GREEN_HOOK int __open_2(const char* path, int flags) {
    if (shim::needs_mode(flags)) __chk_fail();
    return shim::open_at(AT_FDCWD, path, flags, 0);
}

GREEN_HOOK int __open64_2(const char* path, int flags) {
    if (shim::needs_mode(flags)) __chk_fail();
    return shim::open_at(AT_FDCWD, path, flags, 0);
}

GREEN_HOOK int __openat_2(int dirfd, const char* path, int flags) {
    if (shim::needs_mode(flags)) __chk_fail();
    return shim::open_at(dirfd, path, flags, 0);
}

GREEN_HOOK int __openat64_2(int dirfd, const char* path, int flags) {
    if (shim::needs_mode(flags)) __chk_fail();
    return shim::open_at(dirfd, path, flags, 0);
}

GREEN_HOOK FILE* fopen(const char* __restrict path, const char* __restrict mode) {
    return shim::fopen_at(path, mode, shim::real::fopen);
}

GREEN_HOOK FILE* fopen64(const char* __restrict path, const char* __restrict mode) {
    return shim::fopen_at(path, mode, shim::real::fopen64);
}
