// open, openat, fopen and their 64-bit and fortified names, for a FIFO: an
// open for reading waits in the kernel until a writer opens it, one for
// writing until a reader does. That wait would block the whole thread, and
// with it every greenlet of its hub (a daemon thread that opens its control
// FIFO and waits for an operator stopped every other thread of the carrier;
// two green threads of one carrier opening the two ends waited forever).
//
// Where the greenlet may park (a stat tells the FIFO; every other open is the
// plain call):
// - for writing, the open is asked with O_NONBLOCK (ENXIO while no reader)
//   and retried as the file locks are (retry_wait.hpp), and O_NONBLOCK is then
//   taken off again;
// - for reading no descriptor tells when a writer opens, so the open is made
//   on a helper thread of its own (signals blocked) while the greenlet parks.
// A signal handler without SA_RESTART ends the wait with EINTR, and a
// cancellation ends the thread, as they end the kernel's (these opens are
// cancellation points). An abandoned helper is released by a writer the hook
// opens and closes at once: the FIFO's other waiting readers see that writer
// come and go, as they would see any.
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
#include "retry_wait.hpp"
#include "threads/thread_state.hpp"

extern "C" [[noreturn]] void __chk_fail(void);

namespace shim {
namespace {

namespace api = green::detail::shim_api;

// Whether open(path, flags) would wait for the other end of a FIFO.
bool waits_for_peer(int dirfd, const char* path, int flags) noexcept {
    const int access = flags & O_ACCMODE;
    if ((access != O_RDONLY && access != O_WRONLY) || (flags & (O_NONBLOCK | O_PATH)) || !path) return false;
    if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) return false;  // EEXIST, at once
    struct stat st;
    return fstatat(dirfd, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 && S_ISFIFO(st.st_mode);
}

enum : int { kRunning, kDone, kAbandoned };

// One open on a helper thread; the helper and the waiter each hold a reference.
struct PendingOpen {
    std::atomic<int> refs{2};
    std::atomic<int> state{kRunning};
    std::atomic<bool> finished{false};  // the helper's open returned
    int dirfd = AT_FDCWD;
    int flags = 0;
    int fd = -1;
    int error = 0;
    char path[1];  // more allocated

    static PendingOpen* make(int dirfd, const char* path, int flags) noexcept {
        const std::size_t length = std::strlen(path);
        void* memory = std::malloc(sizeof(PendingOpen) + length);
        if (!memory) return nullptr;
        auto* op = new (memory) PendingOpen;
        op->dirfd = dirfd;
        op->flags = flags;
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
    op.fd = real::openat(op.dirfd, op.path, op.flags, 0);
    op.error = errno;
    int running = kRunning;
    if (op.state.compare_exchange_strong(running, kDone, std::memory_order_acq_rel))
        api::unpark(&op.state, SIZE_MAX, 0, false);
    else if (op.fd >= 0)
        real::close(op.fd);  // the waiter gave up
    op.finished.store(true, std::memory_order_release);
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
    pthread_attr_setsigmask_np(&attr, &all);
    pthread_t helper;
    // A small stack, unless the program's static TLS does not fit in it.
    pthread_attr_setstacksize(&attr, 256 * 1024);
    bool started = real::pthread_create(&helper, &attr, open_on_helper, op) == 0;
    if (!started) {
        pthread_attr_setstacksize(&attr, 8 * 1024 * 1024);
        started = real::pthread_create(&helper, &attr, open_on_helper, op) == 0;
    }
    pthread_attr_destroy(&attr);
    return started;
}

// The waiter gave up while its helper may still wait in its open for a
// writer: a writer of ours opened and closed at once lets it out (the helper
// may not have reached its open yet: a few tries, a millisecond apart).
void release_helper(PendingOpen& op) noexcept {
    for (int tries = 0; tries < 200 && !op.finished.load(std::memory_order_acquire); ++tries) {
        const int writer = real::openat(op.dirfd, op.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
        if (writer >= 0) real::close(writer);
        if (op.finished.load(std::memory_order_acquire)) break;
        const timespec ms{0, 1000000};
        real::nanosleep(&ms, nullptr);
    }
}

// An open for reading, its wait for a writer made on a helper thread.
int read_open_beside(int dirfd, const char* path, int flags) {
    // The FIFO is there: creating, truncating and excluding are nothing to it.
    PendingOpen* op = PendingOpen::make(dirfd, path, flags & ~(O_CREAT | O_TRUNC));
    if (!op) return real::openat(dirfd, path, flags, 0);
    if (!start_helper(op)) {
        op->~PendingOpen();
        std::free(op);
        return real::openat(dirfd, path, flags, 0);  // blocks the thread, as before
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
        // A handler or a cancellation ends the wait, unless the open is done.
        int running = kRunning;
        if (op->state.compare_exchange_strong(running, kAbandoned, std::memory_order_acq_rel)) {
            release_helper(*op);
        } else if (cancelled) {
            if (op->fd >= 0) real::close(op->fd);  // done meanwhile, but the thread ends
        } else {
            result = op->fd;
            error = op->error;
        }
        break;
    }
    op->release();
    errno = error;
    return result;
}

// An open for writing: asked with O_NONBLOCK until a reader is there.
int write_open(int dirfd, const char* path, int flags, mode_t mode) {
    const int fd = retry::wait("open (a FIFO)", Restart::if_sa_restart, Deadline(), EINTR,
                               [&] { return real::openat(dirfd, path, flags | O_NONBLOCK, mode); },
                               [](int error) { return error == ENXIO; });
    if (fd >= 0) {
        const long status = real::fcntl(fd, F_GETFL, nullptr);
        real::fcntl(fd, F_SETFL, reinterpret_cast<void*>(status & ~long{O_NONBLOCK}));
        fd_facts::flags_changed(fd);
    }
    return fd;
}

int open_fifo(int dirfd, const char* path, int flags, mode_t mode) {
    const int fd = (flags & O_ACCMODE) == O_WRONLY ? write_open(dirfd, path, flags, mode) : read_open_beside(dirfd, path, flags);
    if (fd >= 0) retry::changed();  // a writer waiting for this reader asks again
    return fd;
}

int open_at(int dirfd, const char* path, int flags, mode_t mode) {
    if (!may_park() || !waits_for_peer(dirfd, path, flags)) return real::openat(dirfd, path, flags, mode);
    return threads::cancellation_point_keeping_success([&] { return open_fifo(dirfd, path, flags, mode); });
}

// glibc reads the mode argument only for these flags.
bool needs_mode(int flags) noexcept { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

// The open flags of an fopen mode ("r", "w", "a", with "e" for O_CLOEXEC) when
// the stream's open may wait for a FIFO's other end; false for the rest
// ("+" opens for both, "x" and ",ccs=" are left to glibc); "c" says the open
// is no cancellation point.
bool fopen_flags(const char* mode, int& flags, bool& cancellable) noexcept {
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
        if (*m == 'c') cancellable = false;
    }
    return !std::strchr(mode, ',');
}

FILE* fopen_at(const char* path, const char* mode, FILE* (*real_fopen)(const char*, const char*)) {
    int flags = 0;
    bool cancellable = true;
    if (!may_park() || !fopen_flags(mode, flags, cancellable) || !waits_for_peer(AT_FDCWD, path, flags))
        return real_fopen(path, mode);
    const auto open = [&] { return open_fifo(AT_FDCWD, path, flags, 0666); };
    const int fd = cancellable ? threads::cancellation_point_keeping_success(open) : open();
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
