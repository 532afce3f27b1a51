// fwrite, fputs, puts, fputc, putc, putchar, fflush, printf and the rest of
// stdio's byte output (the _unlocked variants, the _FORTIFY_SOURCE printfs, and
// __overflow, which putc_unlocked inlined calls), and dprintf. glibc empties a
// stream's buffer with its internal write, out of the write hook's reach: a
// green thread printing to a pipe or socket (stdout piped to a slow reader, an
// fdopen'd connection) blocked its carrier, and every green thread on it,
// while the reader did not read. So a call that would make glibc write first
// parks the greenlet until the descriptor has room (poll's POLLOUT: a pipe with
// a free page, a socket under its send buffer's mark), and then glibc's call
// writes at most one buffer (a page for pipes and sockets), which fits. A call
// larger than the buffer goes to glibc a buffer at a time, each after such a
// wait, under the stream's lock. The printf family formats first and writes
// the result that way. A call the buffer takes without writing, a stream of a
// regular file, or of a descriptor the program made non-blocking, and every
// call outside a greenlet, is glibc's own. Wide output (fwprintf, fputws) is not
// covered: see SYMBOLS.md.

// Optimising, glibc's stdio.h defines putc_unlocked and friends inline
// (__USE_EXTERN_INLINES): this file wants the plain declarations.
#include <features.h>
#undef __USE_EXTERN_INLINES

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "stream_lock.hpp"
#include "stdio_output.hpp"
#include "threads/thread_state.hpp"

extern "C" int __vsnprintf_chk(char*, size_t, int, size_t, const char*, va_list);
extern "C" int __vasprintf_chk(char**, int, const char*, va_list);

namespace shim {
namespace {

// glibc 2.36's stream flags (libio.h).
constexpr int kUnbuffered = 0x0002;
constexpr int kNoWrites = 0x0008;
constexpr int kErrorSeen = _IO_ERR_SEEN;
constexpr int kLineBuffered = 0x0200;
constexpr int kCurrentlyPutting = 0x0800;

// Green threads in the middle of a write given to glibc in pieces: while there
// are any, every call takes the stream's lock, so none lands between two pieces.
std::atomic<int> piecewise_writes{0};

// The descriptor of `f` if glibc's write to it may block this thread and the
// greenlet may park instead; -1 otherwise.
int waitable(FILE* f, fd_facts::Facts& facts) noexcept {
    if (!f || !may_park() || f->_mode > 0 || (f->_flags & kNoWrites) || f->_fileno < 0) return -1;
    facts = fd_facts::of(f->_fileno);
    if (facts.kind == fd_facts::Kind::disk || facts.kind == fd_facts::Kind::closed || facts.nonblocking) return -1;
    return f->_fileno;
}

// The size of `f`'s buffer; before glibc made it, the size glibc will make
// it: st_blksize, at most BUFSIZ (a page for pipes and sockets, less for a terminal).
std::size_t buffer_size(const FILE* f) noexcept {
    if (f->_IO_buf_base) return static_cast<std::size_t>(f->_IO_buf_end - f->_IO_buf_base);
    struct stat st {};
    if (::fstat(f->_fileno, &st) == 0 && st.st_blksize > 0 && st.st_blksize < BUFSIZ)
        return static_cast<std::size_t>(st.st_blksize);
    return BUFSIZ;
}

// Whether glibc, given the `n` bytes at `text` for `f`, writes to its
// descriptor: the stream is unbuffered, a line ends on a line-buffered one,
// or the buffer's room cannot take them. A stream not yet putting (new, or
// reading) gets its buffer first, without a write, and then writes whole
// buffers directly.
bool writes(const FILE* f, const char* text, std::size_t n) noexcept {
    if (f->_flags & kUnbuffered) return true;
    if ((f->_flags & kLineBuffered) && memchr(text, '\n', n)) return true;
    if (f->_IO_buf_base && (f->_flags & kCurrentlyPutting))
        return n > static_cast<std::size_t>(f->_IO_buf_end - f->_IO_write_ptr);
    return n >= buffer_size(f);
}

bool has_pending_output(const FILE* f) noexcept {
    return (f->_flags & kCurrentlyPutting) && f->_IO_write_ptr > f->_IO_write_base;
}

// Parks until `fd` has room. False when the wait failed as glibc's write would
// have (EINTR from a handler without SA_RESTART, EAGAIN once SO_SNDTIMEO
// passed, EBADF, ECANCELED): errno is set, and so is the stream's error flag.
// A cancellation of the green thread unwinds from here, as from a write.
bool wait_for_room(FILE* f, int fd, const fd_facts::Facts& facts) {
    return threads::cancellation_point([&]() noexcept {
        Blocker blocker(fd, true, Restart::if_sa_restart, facts);
        for (;;) {
            pollfd ready{fd, POLLOUT, 0};
            if (real::poll(&ready, 1, 0) != 0) return true;  // room, or an error the write will report
            if (blocker.wait() < 0) break;
        }
        f->_flags |= kErrorSeen;
        return false;
    });
}

// Makes glibc's call `call(unlocked)` for the `n` bytes at `text` (`f`'s
// descriptor: waitable()'s answer), after a wait for room if it writes. Holds
// the stream's lock meanwhile if the wait may let another green thread of the
// carrier in; `call` is then told to make glibc's _unlocked call (as it is
// when the caller's call was one: `locks` false).
template <class Call>
auto with_room(FILE* f, int fd, const fd_facts::Facts& facts, const char* text, std::size_t n, bool locks, Call call)
    -> decltype(call(true)) {
    const bool write = writes(f, text, n);
    const bool lock = locks && (write || piecewise_writes.load(std::memory_order_relaxed) != 0);
    const StreamLock held(f, lock);
    if (write && !wait_for_room(f, fd, facts)) return decltype(call(true)){};
    return call(lock || !locks);
}

// The most of `n` bytes glibc takes from fwrite with one write at most: what
// fills the buffer's room, then less than a whole buffer (a whole one it
// would write directly, after the flush of the full buffer).
std::size_t one_write(const FILE* f, std::size_t n) noexcept {
    const std::size_t room =
        f->_IO_buf_base && (f->_flags & kCurrentlyPutting) ? static_cast<std::size_t>(f->_IO_buf_end - f->_IO_write_ptr) : 0;
    return std::min(n, room + buffer_size(f) - 1);
}

// Hands the `n` bytes at `text` to `f` as fwrite (fd: waitable()'s answer):
// in pieces of one write each, after a wait for room. Returns the bytes taken;
// fewer after an error (errno and the stream's flag say which).
std::size_t put(FILE* f, int fd, const fd_facts::Facts& facts, const char* text, std::size_t n, bool locks) {
    if (one_write(f, n) == n)
        return with_room(f, fd, facts, text, n, locks, [&](bool unlocked) {
            return unlocked ? real::fwrite_unlocked(text, 1, n, f) : real::fwrite(text, 1, n, f);
        });
    struct Counted {  // also when a cancellation unwinds the wait
        Counted() noexcept { piecewise_writes.fetch_add(1, std::memory_order_relaxed); }
        ~Counted() { piecewise_writes.fetch_sub(1, std::memory_order_relaxed); }
    } counted;
    const StreamLock held(f, locks);
    std::size_t done = 0;
    while (done < n) {
        const std::size_t size = one_write(f, n - done);
        if (writes(f, text + done, size) && !wait_for_room(f, fd, facts)) break;
        const std::size_t taken = real::fwrite_unlocked(text + done, 1, size, f);
        done += taken;
        if (taken < size) break;
    }
    return done;
}

// fputc (or fputc_unlocked): the byte, or EOF. glibc's own call, which leaves
// the stream's orientation alone (fwrite would make it byte-oriented).
int put_byte(int c, FILE* f, bool locks) {
    fd_facts::Facts facts;
    const int fd = waitable(f, facts);
    if (fd < 0) return locks ? real::fputc(c, f) : real::fputc_unlocked(c, f);
    const char byte = static_cast<char>(c);
    int r = EOF;
    const bool made = with_room(f, fd, facts, &byte, 1, locks, [&](bool unlocked) {
        r = unlocked ? real::fputc_unlocked(c, f) : real::fputc(c, f);
        return true;
    });
    return made ? r : EOF;
}

// A printf's text: in `small` when it fits, else on the heap (`owned`).
// Formatted by glibc, with __vsnprintf_chk's checks when `fortify` >= 0.
// Returns the length, or -1 when glibc cannot format it (the caller then
// lets glibc's own printf fail as it does).
int format(char* small, std::size_t space, char** text, char** owned, int fortify, const char* fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    const int n = fortify < 0 ? vsnprintf(small, space, fmt, copy) : __vsnprintf_chk(small, space, fortify, space, fmt, copy);
    va_end(copy);
    *text = small;
    *owned = nullptr;
    if (n < 0 || static_cast<std::size_t>(n) < space) return n;
    va_copy(copy, ap);
    const int m = fortify < 0 ? vasprintf(owned, fmt, copy) : __vasprintf_chk(owned, fortify, fmt, copy);
    va_end(copy);
    if (m < 0) return *owned = nullptr, -1;
    *text = *owned;
    return m;
}

// vfprintf (fortify: __vfprintf_chk's flag, or -1), formatting first when the
// stream may make the greenlet wait.
int print(FILE* f, int fortify, const char* fmt, va_list ap) {
    const int saved = errno;  // %m prints it: what waitable() asks the kernel must not change it
    const auto plain = [&] {
        errno = saved;
        return fortify < 0 ? real::vfprintf(f, fmt, ap) : real::__vfprintf_chk(f, fortify, fmt, ap);
    };
    fd_facts::Facts facts;
    const int fd = waitable(f, facts);
    if (fd < 0) return plain();
    char small[512], *text = nullptr, *owned = nullptr;
    errno = saved;
    const int n = format(small, sizeof small, &text, &owned, fortify, fmt, ap);
    if (n <= 0) return plain();  // an empty text, or one glibc cannot make: glibc's call says so
    const std::size_t taken = put(f, fd, facts, text, static_cast<std::size_t>(n), true);
    free(owned);
    return taken == static_cast<std::size_t>(n) ? n : -1;
}

// vdprintf: formatted, then written through the write hook, which waits for room.
int print_to_fd(int fd, int fortify, const char* fmt, va_list ap) {
    const int saved = errno;
    const auto plain = [&] {
        errno = saved;
        return fortify < 0 ? real::vdprintf(fd, fmt, ap) : real::__vdprintf_chk(fd, fortify, fmt, ap);
    };
    if (!may_park()) return plain();
    char small[512], *text = nullptr, *owned = nullptr;
    errno = saved;
    const int n = format(small, sizeof small, &text, &owned, fortify, fmt, ap);
    if (n <= 0) return plain();
    int done = 0;
    while (done < n) {  // as glibc's: a failed write ends it, with -1
        const ssize_t w = write(fd, text + done, static_cast<std::size_t>(n - done));
        if (w < 0) break;
        done += static_cast<int>(w);
    }
    free(owned);
    return done == n ? n : -1;
}

// fwrite's result for `taken` of `bytes` bytes in items of `size`.
std::size_t items(std::size_t taken, std::size_t bytes, std::size_t size, std::size_t n) noexcept {
    return taken == bytes ? n : taken / size;
}

template <class Plain>
std::size_t write_items(const void* p, std::size_t size, std::size_t n, FILE* f, bool locks, Plain plain) {
    fd_facts::Facts facts;
    std::size_t bytes = 0;
    const int fd = waitable(f, facts);
    if (fd < 0 || __builtin_mul_overflow(size, n, &bytes) || bytes == 0) return plain();
    return items(put(f, fd, facts, static_cast<const char*>(p), bytes, locks), bytes, size, n);
}

template <class Plain>
int write_string(const char* s, FILE* f, bool locks, Plain plain) {
    fd_facts::Facts facts;
    const int fd = waitable(f, facts);
    const std::size_t n = fd < 0 ? 0 : strlen(s);
    if (n == 0) return plain();
    return put(f, fd, facts, s, n, locks) == n ? 1 : EOF;
}

template <class Plain>
int flush(FILE* f, Plain plain) {
    if (!room_to_flush(f)) return EOF;
    return plain();
}

}  // namespace

bool room_to_flush(FILE* f) {
    fd_facts::Facts facts;
    const int fd = waitable(f, facts);
    return fd < 0 || !has_pending_output(f) || wait_for_room(f, fd, facts);
}

}  // namespace shim

GREEN_HOOK size_t fwrite(const void* __restrict p, size_t size, size_t n, FILE* __restrict f) {
    return shim::write_items(p, size, n, f, true, [&] { return shim::real::fwrite(p, size, n, f); });
}

GREEN_HOOK size_t fwrite_unlocked(const void* __restrict p, size_t size, size_t n, FILE* __restrict f) {
    return shim::write_items(p, size, n, f, false, [&] { return shim::real::fwrite_unlocked(p, size, n, f); });
}

GREEN_HOOK int fputs(const char* __restrict s, FILE* __restrict f) {
    return shim::write_string(s, f, true, [&] { return shim::real::fputs(s, f); });
}

GREEN_HOOK int fputs_unlocked(const char* __restrict s, FILE* __restrict f) {
    return shim::write_string(s, f, false, [&] { return shim::real::fputs_unlocked(s, f); });
}

// The line and its newline in one piece, as glibc's holds the lock for both.
GREEN_HOOK int puts(const char* s) {
    shim::fd_facts::Facts facts;
    const int fd = shim::waitable(stdout, facts);
    if (fd < 0) return shim::real::puts(s);
    const std::size_t n = strlen(s);
    char small[512];
    char* line = n < sizeof small ? small : static_cast<char*>(malloc(n + 1));
    if (!line) return shim::real::puts(s);
    memcpy(line, s, n);
    line[n] = '\n';
    const std::size_t taken = shim::put(stdout, fd, facts, line, n + 1, true);
    if (line != small) free(line);
    return taken == n + 1 ? static_cast<int>(std::min<std::size_t>(INT_MAX, n + 1)) : EOF;
}

GREEN_HOOK int fputc(int c, FILE* f) { return shim::put_byte(c, f, true); }
GREEN_HOOK int putc(int c, FILE* f) { return shim::put_byte(c, f, true); }
GREEN_HOOK int _IO_putc(int c, FILE* f) { return shim::put_byte(c, f, true); }
GREEN_HOOK int putchar(int c) { return shim::put_byte(c, stdout, true); }
GREEN_HOOK int fputc_unlocked(int c, FILE* f) { return shim::put_byte(c, f, false); }
GREEN_HOOK int putc_unlocked(int c, FILE* f) { return shim::put_byte(c, f, false); }
GREEN_HOOK int putchar_unlocked(int c) { return shim::put_byte(c, stdout, false); }

// What putc_unlocked and putchar_unlocked, inlined by an optimising compiler,
// call when the buffer is full (or the stream is line-buffered or unbuffered).
GREEN_HOOK int __overflow(FILE* f, int c) {
    shim::fd_facts::Facts facts;
    const int fd = shim::waitable(f, facts);
    const char byte = static_cast<char>(c);
    if (fd >= 0 && (c == EOF ? shim::has_pending_output(f) : shim::writes(f, &byte, 1)) &&
        !shim::wait_for_room(f, fd, facts))
        return EOF;
    return shim::real::__overflow(f, c);
}

// fflush(NULL) flushes every stream with glibc's own call: see SYMBOLS.md.
GREEN_HOOK int fflush(FILE* f) {
    return shim::flush(f, [&] { return shim::real::fflush(f); });
}

GREEN_HOOK int fflush_unlocked(FILE* f) {
    return shim::flush(f, [&] { return shim::real::fflush_unlocked(f); });
}

GREEN_HOOK int vfprintf(FILE* __restrict f, const char* __restrict fmt, va_list ap) { return shim::print(f, -1, fmt, ap); }

GREEN_HOOK int vprintf(const char* __restrict fmt, va_list ap) { return shim::print(stdout, -1, fmt, ap); }

GREEN_HOOK int fprintf(FILE* __restrict f, const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print(f, -1, fmt, ap);
    va_end(ap);
    return r;
}

GREEN_HOOK int printf(const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print(stdout, -1, fmt, ap);
    va_end(ap);
    return r;
}

GREEN_HOOK int __vfprintf_chk(FILE* __restrict f, int flag, const char* __restrict fmt, va_list ap) {
    return shim::print(f, flag, fmt, ap);
}

GREEN_HOOK int __vprintf_chk(int flag, const char* __restrict fmt, va_list ap) { return shim::print(stdout, flag, fmt, ap); }

GREEN_HOOK int __fprintf_chk(FILE* __restrict f, int flag, const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print(f, flag, fmt, ap);
    va_end(ap);
    return r;
}

GREEN_HOOK int __printf_chk(int flag, const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print(stdout, flag, fmt, ap);
    va_end(ap);
    return r;
}

GREEN_HOOK int vdprintf(int fd, const char* __restrict fmt, va_list ap) { return shim::print_to_fd(fd, -1, fmt, ap); }

GREEN_HOOK int __vdprintf_chk(int fd, int flag, const char* __restrict fmt, va_list ap) {
    return shim::print_to_fd(fd, flag, fmt, ap);
}

GREEN_HOOK int dprintf(int fd, const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print_to_fd(fd, -1, fmt, ap);
    va_end(ap);
    return r;
}

GREEN_HOOK int __dprintf_chk(int fd, int flag, const char* __restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int r = shim::print_to_fd(fd, flag, fmt, ap);
    va_end(ap);
    return r;
}
