// close, close_range, closefrom, dup, dup2, dup3, fcntl, fcntl64, ioctl,
// pidfd_getfd; and the calls by
// which libev opens its own descriptors (epoll_create, epoll_create1, eventfd,
// pipe, pipe2), so the runtime's descriptors are known.
//
// Closing a descriptor (or dup2-ing over it) first wakes the greenlets of this
// thread that wait on it, with EBADF, as green::close does. The runtime's own
// descriptors (the loop's epoll and eventfd, the resolver's sockets) are not the
// program's: closing one is EBADF, and close_range leaves them open.
#include <fcntl.h>
#include <mqueue.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "file_locks.hpp"
#include "retry_wait.hpp"
#include "real.hpp"
#include "stdio_output.hpp"
#include "threads/thread_state.hpp"

namespace api = green::detail::shim_api;

namespace {

bool shim_live() { return shim::state::live.load(std::memory_order_relaxed); }

// A descriptor libev opened inside a runtime scope belongs to the runtime and
// moves to a high number, out of the program's way (libev keeps the number it
// is given); not one a sanitizer runtime opens meanwhile (UBSan's check of a
// vtable pointer, on a member access in the runtime, makes a pipe to probe
// memory and closes it with a raw system call the shim never sees: nor is it
// marked alone, a mark that close would never take back).
int created(int fd, const void* caller) {
    if (fd < 0) return fd;
    if (!api::in_runtime_scope())
        shim::fd_facts::mark_alone(fd);
    else if (!shim::threads::in_sanitizer_runtime(shim::threads::library_of(caller)))
        return api::own_runtime_fd(fd);
    return fd;
}

// A loop's epoll set, which libev does not name: the loop learns it.
int created_epoll(int fd) {
    if (fd >= 0 && api::in_runtime_scope() && api::is_runtime_fd(fd)) api::note_runtime_epoll(fd);
    return fd;
}

// Before `fd` is closed or replaced: false (EBADF) if it is the runtime's.
// Takes no lock: close is async-signal-safe and so is this. Inside a signal
// handler the hub's wait state may be half-changed by the code the handler
// interrupted, so greenlets waiting on `fd` are not woken from there.
bool release_for_program(int fd) {
    if (!shim_live()) return true;
    if (api::in_runtime_scope()) {  // libev closing what it opened
        api::unmark_runtime_fd(fd);
        return true;
    }
    if (api::is_runtime_fd(fd)) return false;
    shim::fd_facts::forget(fd);
    if (shim::state::plain_depth == 0) api::forget_fd(fd);
    return true;
}

// Held while libev makes a descriptor inside a runtime scope, until created()
// has moved it up, and while it unmarks and closes one (see replace).
api::RuntimeFdCreationLock runtime_creation() noexcept {
    return api::RuntimeFdCreationLock(shim_live() && api::in_runtime_scope());
}

// A new descriptor that shares the open file description of `fd`.
int duplicated(int fd, int copy) noexcept {
    if (copy >= 0) shim::fd_facts::copied(fd, copy);
    return copy;
}

}  // namespace

GREEN_HOOK int close(int fd) {
    // libev closing its own: unmarked and closed under the lock, as the
    // runtime's other descriptors (close_runtime_fd), so no dup2 gets between.
    const auto held = runtime_creation();
    if (api::in_runtime_scope() && api::closes_lost_fd(fd)) return 0;  // closed already: the number is another's now
    if (!release_for_program(fd)) {
        errno = EBADF;
        return -1;
    }
    // The process's record locks on the file go with it.
    return shim::retry::told(shim::real::close(fd));
}

GREEN_HOOK int close_range(unsigned int first, unsigned int last, int flags) noexcept {
    if (!shim_live() || (flags & CLOSE_RANGE_CLOEXEC) || first > last) return shim::real::close_range(first, last, flags);
    if (shim::state::plain_depth == 0) api::forget_fds(first, last);
    shim::fd_facts::forget_range(first, last);
    // Close around the runtime's descriptors.
    unsigned int from = first;
    for (int keep : api::runtime_fds_between(first, last)) {
        const auto k = static_cast<unsigned int>(keep);
        if (k > from && shim::real::close_range(from, k - 1, flags) != 0) return -1;
        from = k + 1;
        if (k == UINT_MAX) return 0;
    }
    const int r = from > last ? 0 : shim::real::close_range(from, last, flags);
    shim::retry::changed();  // the locks of what it closed went with it
    return r;
}

// A POSIX message queue's descriptor, closed with glibc's internal close.
GREEN_HOOK int mq_close(mqd_t q) {
    const auto held = runtime_creation();
    if (!release_for_program(q)) {
        errno = EBADF;
        return -1;
    }
    return shim::real::mq_close(q);
}

// glibc's closes the range with its internal close_range, which the hook above
// never sees (and which would close the runtime's descriptors); so does this,
// through the hook. Where the kernel has no close_range, one by one, as glibc.
GREEN_HOOK void closefrom(int first) noexcept {
    const int from = std::max(first, 0);
    if (close_range(static_cast<unsigned int>(from), ~0U, 0) == 0) return;
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    for (long fd = from; fd < open_max && fd <= INT_MAX; ++fd) close(static_cast<int>(fd));
}

GREEN_HOOK int dup(int fd) noexcept { return duplicated(fd, shim::real::dup(fd)); }

// A descriptor taken from another process (perhaps a copy of one of this
// process's own, given to a child): glibc makes the system call internally.
GREEN_HOOK int pidfd_getfd(int pidfd, int target, unsigned int flags) noexcept {
    const long args[6] = {pidfd, target, flags, 0, 0, 0};
    const long r = shim::real::syscall(SYS_pidfd_getfd, args[0], args[1], args[2], 0, 0, 0);
    shim::fd_facts::after_system_call(SYS_pidfd_getfd, args, r);
    return static_cast<int>(r);
}

namespace {

// A dup2 or dup3 onto `fd2`: `call()`, once `fd2` is no longer the runtime's,
// else EBUSY. The runtime's descriptors are given up first (free_runtime_fd:
// a loop's move, a resolver's socket, a pidfd or a signalfd closes), for a valid `fd` (else the call says EBADF and leaves
// `fd2` alone), and not inside a signal handler. The call waits while the
// runtime makes a descriptor, which sits at the lowest free number (perhaps
// `fd2`) until it is moved up. What the runtime made meanwhile may have been
// moved up to `fd2` (the lowest free number above its floor: the next one of
// a program that dup2s upwards through the numbers): that one is given up in
// turn, and `fd2` avoided from then on.
template <class Call>
int replace(int fd, int fd2, Call call) noexcept {
    const bool guarded = shim_live() && !api::in_runtime_scope() && shim::state::plain_depth == 0;
    for (bool asked_before = false;;) {
        const bool runtime_target = fd != fd2 && api::is_runtime_fd(fd2);
        const bool bad_source = runtime_target && shim::real::fcntl(fd, F_GETFD, nullptr) < 0;
        int avoidance = -1;
        if (guarded && runtime_target && !bad_source) {
            avoidance = api::avoid_runtime_fd(fd2);  // until the call has it
            api::free_runtime_fd(fd2);
        }
        int r = -1, error = 0;
        bool again = false;
        {
            const api::RuntimeFdCreationLock held(guarded);
            if (fd == fd2 || bad_source || release_for_program(fd2))
                r = call();
            else if (guarded && !runtime_target && !asked_before)
                again = true;  // it became the runtime's while the call waited for the lock
            else
                errno = EBUSY;  // it stays the runtime's (see SYMBOLS.md)
            error = errno;
        }
        api::stop_avoiding_runtime_fd(avoidance);
        asked_before = asked_before || runtime_target;
        if (!again) {
            if (r >= 0 && fd != fd2) shim::retry::changed();  // fd2's locks went with it
            errno = error;
            return r;
        }
    }
}

}  // namespace

GREEN_HOOK int dup2(int fd, int fd2) noexcept {
    return replace(fd, fd2, [&] { return fd == fd2 ? shim::real::dup2(fd, fd2) : duplicated(fd, shim::real::dup2(fd, fd2)); });
}

GREEN_HOOK int dup3(int fd, int fd2, int flags) noexcept {
    return replace(fd, fd2, [&] { return duplicated(fd, shim::real::dup3(fd, fd2, flags)); });
}

namespace {

// fcntl, whose facts the shim keeps: what F_SETFL changes is forgotten once
// changed (a look between a forget and the change would learn the old flags
// for good), and a copy made with F_DUPFD shares the description.
int facts_fcntl(int fd, int cmd, void* arg) {
    const int r = shim::file_locks::waits(cmd) ? shim::file_locks::set_and_wait(fd, cmd, arg)
                                               : shim::real::fcntl(fd, cmd, arg);
    if (shim::file_locks::sets_lock(cmd))
        shim::retry::told(r);
    else if (cmd == F_SETFL)
        shim::fd_facts::flags_changed(fd);
    else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        duplicated(fd, r);
    return r;
}

}  // namespace

GREEN_HOOK int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);  // every fcntl argument fits a register: int, long or pointer
    va_end(ap);
    return facts_fcntl(fd, cmd, arg);
}

GREEN_HOOK int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return facts_fcntl(fd, cmd, arg);
}

GREEN_HOOK int ioctl(int fd, unsigned long request, ...) noexcept {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    const int r = shim::real::ioctl(fd, request, arg);
    if (request == FIONBIO) shim::fd_facts::flags_changed(fd);
    return r;
}

// stdio closes (or replaces) its descriptor with libc's internal close, which
// the close hook never sees: the runtime's and the shim's record of it go first.
// The output it holds waits for room first (stdio_output.hpp); if that wait
// fails (a signal, SO_SNDTIMEO), the output is dropped and the stream closed
// with EOF, as glibc's failed flush does.
GREEN_HOOK int fclose(FILE* stream) {
    const bool room = !stream || shim::room_to_flush(stream);
    const int error = errno;
    if (!room) stream->_IO_write_ptr = stream->_IO_write_base;
    if (const int fd = stream ? ::fileno(stream) : -1; fd >= 0) release_for_program(fd);
    const int r = shim::real::fclose(stream);
    shim::retry::changed();
    if (room) return r;
    errno = error;
    return EOF;
}

GREEN_HOOK int pclose(FILE* stream) {
    if (stream) shim::room_to_flush(stream);  // then the wait for the child blocks, as SYMBOLS.md says
    if (const int fd = stream ? ::fileno(stream) : -1; fd >= 0) release_for_program(fd);
    return shim::real::pclose(stream);
}

GREEN_HOOK FILE* freopen(const char* __restrict path, const char* __restrict mode, FILE* __restrict stream) {
    if (const int fd = stream ? ::fileno(stream) : -1; fd >= 0) release_for_program(fd);
    return shim::real::freopen(path, mode, stream);
}

GREEN_HOOK FILE* freopen64(const char* __restrict path, const char* __restrict mode, FILE* __restrict stream) {
    if (const int fd = stream ? ::fileno(stream) : -1; fd >= 0) release_for_program(fd);
    return shim::real::freopen64(path, mode, stream);
}

GREEN_HOOK int epoll_create(int size) noexcept {
    const auto held = runtime_creation();
    return created_epoll(created(shim::real::epoll_create(size), __builtin_return_address(0)));
}
GREEN_HOOK int epoll_create1(int flags) noexcept {
    const auto held = runtime_creation();
    return created_epoll(created(shim::real::epoll_create1(flags), __builtin_return_address(0)));
}
GREEN_HOOK int eventfd(unsigned int count, int flags) noexcept {
    const auto held = runtime_creation();
    return created(shim::real::eventfd(count, flags), __builtin_return_address(0));
}

GREEN_HOOK int pipe(int fds[2]) noexcept {
    const auto held = runtime_creation();
    const int r = shim::real::pipe(fds);
    if (r == 0) {
        fds[0] = created(fds[0], __builtin_return_address(0));
        fds[1] = created(fds[1], __builtin_return_address(0));
    }
    return r;
}

GREEN_HOOK int pipe2(int fds[2], int flags) noexcept {
    const auto held = runtime_creation();
    const int r = shim::real::pipe2(fds, flags);
    if (r == 0) {
        fds[0] = created(fds[0], __builtin_return_address(0));
        fds[1] = created(fds[1], __builtin_return_address(0));
    }
    return r;
}
