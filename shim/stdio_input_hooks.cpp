// fgets, getline, getc, fread and the rest of stdio's byte input (the
// _unlocked variants too, and __uflow, which getc_unlocked inlined calls). glibc fills a
// stream's buffer with its internal read, out of the read hook's reach: a green
// thread reading a socket, pipe or terminal through stdio (fdopen and fgets, a
// thread reading stdin) would block its carrier until the data came. So the
// hook parks the greenlet until the descriptor is readable before every read
// glibc would make: a call that the buffer cannot answer alone reads the way
// glibc's does (a line, a delimited record or a count of bytes gathered from
// the buffer, one refill at a time, under the stream's lock, with glibc's
// error and end-of-file rules), and each refill finds data. A line whose rest
// comes later, or an fread of more than has arrived, waits for it as a green
// thread. A call the buffer answers, and every call outside a greenlet, is
// glibc's own.

// Optimising, glibc's stdio.h defines getline, getchar and the _unlocked
// calls inline (__USE_EXTERN_INLINES), and clang refuses to see them
// defined again below: this file wants the plain declarations.
#include <features.h>
#undef __USE_EXTERN_INLINES

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "stream_lock.hpp"
#include "threads/thread_state.hpp"

extern "C" [[noreturn]] void __chk_fail(void);
extern "C" int __underflow(FILE*);  // glibc's refill: one read, nothing consumed

namespace shim {
namespace {

// glibc 2.36's stream flags (libio.h; its stdio.h names only the last two).
constexpr int kUnbuffered = 0x0002;
constexpr int kNoReads = 0x0004;
constexpr int kNoWrites = 0x0008;
constexpr int kEofSeen = _IO_EOF_SEEN;
constexpr int kErrorSeen = _IO_ERR_SEEN;
constexpr int kLinked = 0x0080;
constexpr int kLineBuffered = 0x0200;

// fread's "no delimiter" (EOF is never a byte).
constexpr int kNoDelimiter = EOF;

// What glibc does before it reads a stream's descriptor, done before the wait
// for it: the stream's own pending output goes out (a request written with
// fputs to an "r+" socket stream, then its answer read), and so does stdout's
// when it is line-buffered and the stream is line-buffered or unbuffered (a
// prompt without a newline on a terminal, then fgets from stdin).
void flush_as_glibc_would(FILE* f) noexcept {
    if (f->_IO_write_ptr > f->_IO_write_base) fflush(f);
    if ((f->_flags & (kLineBuffered | kUnbuffered)) && f != stdout &&
        (stdout->_flags & (kLinked | kNoWrites | kLineBuffered)) == (kLinked | kLineBuffered))
        fflush(stdout);
}

// Waits, if the greenlet may park, until glibc's next read of `f` will not
// block: its buffer holds data, or its descriptor is readable (or at its end,
// or failed). Returns false when the wait failed as the read would have (EINTR
// from a handler without SA_RESTART, EAGAIN when SO_RCVTIMEO passed, EBADF,
// ECANCELED): errno is set, and so is the stream's error flag, as glibc's
// failed read sets it; the caller then returns its failure. A cancellation
// of the green thread unwinds it from here, as from glibc's read, a
// cancellation point (so nothing on the way may be noexcept).
bool wait_for_input(FILE* f) {
    if (!may_park() || f->_IO_read_ptr < f->_IO_read_end) return true;
    // Not opened for reading, or at its end (sticky since glibc 2.28): glibc fails at once.
    if (f->_flags & (kNoReads | kEofSeen)) return true;
    const int fd = f->_fileno;
    if (fd < 0) return true;  // fmemopen, fopencookie: no descriptor
    const fd_facts::Facts facts = fd_facts::of(fd);
    if (facts.kind == fd_facts::Kind::disk || facts.kind == fd_facts::Kind::closed || facts.nonblocking) return true;
    return threads::cancellation_point([&]() noexcept {
        flush_as_glibc_would(f);
        Blocker blocker(fd, false, Restart::if_sa_restart, facts);
        for (;;) {
            // Ready also when at its end or failed: the read then says which.
            pollfd ready{fd, POLLIN, 0};
            if (real::poll(&ready, 1, 0) != 0) return true;
            if (blocker.wait() < 0) break;  // a wake-up is not data: look again
        }
        f->_flags |= kErrorSeen;
        return false;
    });
}

// Whether a call that takes up to `most` bytes of `f`, or up to and with
// `delim` if it comes first, needs more than the buffer holds: then it reads
// cooperatively (below), else glibc's call makes no read.
bool needs_more(FILE* f, std::size_t most, int delim) noexcept {
    if (f->_mode > 0 || !may_park()) return false;  // a wide stream: glibc's alone
    const ptrdiff_t held = f->_IO_read_end - f->_IO_read_ptr;
    if (held <= 0) return true;
    if (static_cast<std::size_t>(held) >= most) return false;
    return delim == kNoDelimiter || !memchr(f->_IO_read_ptr, delim, static_cast<std::size_t>(held));
}

// Hands `take` the buffered bytes of `f` up to and with `delim`, `most` at
// most, in chunks (glibc's _IO_getline and getdelim do the same), waiting for
// input before each refill. Returns false when `take` refused a chunk (which
// then stays in the buffer); true when `delim` or `most` was reached, or the
// input ended (EOF, or an error: the stream's flags say which).
template <class Take>
bool read_until(FILE* f, int delim, std::size_t most, Take take) {
    for (std::size_t got = 0; got < most;) {
        if (f->_IO_read_ptr >= f->_IO_read_end && (!wait_for_input(f) || __underflow(f) == EOF)) return true;
        const char* from = f->_IO_read_ptr;
        std::size_t n = std::min(static_cast<std::size_t>(f->_IO_read_end - from), most - got);
        const void* at = delim == kNoDelimiter ? nullptr : memchr(from, delim, n);
        if (at) n = static_cast<std::size_t>(static_cast<const char*>(at) - from) + 1;
        if (!take(from, n)) return false;
        f->_IO_read_ptr += n;
        got += n;
        if (at) break;
    }
    return true;
}

// fgets (and __fgets_chk, whose buffer holds `fortified` bytes, when not 0) of
// up to `most` bytes, with glibc's result: NULL when nothing was read or a new
// error came (one that is not EAGAIN), the stream's earlier error flag kept.
char* read_line(char* s, std::size_t most, FILE* f, bool lock, std::size_t fortified) {
    const StreamLock held(f, lock);
    if (f->_mode == 0) fwide(f, -1);
    const int old_error = f->_flags & kErrorSeen;
    f->_flags &= ~kErrorSeen;
    std::size_t count = 0;
    read_until(f, '\n', most, [&](const char* from, std::size_t n) {
        memcpy(s + count, from, n);
        count += n;
        return true;
    });
    char* result = s;
    if (count == 0 || ((f->_flags & kErrorSeen) && errno != EAGAIN))
        result = nullptr;
    else if (fortified != 0 && count >= fortified)
        __chk_fail();
    else
        s[count] = '\0';
    f->_flags |= old_error;
    return result;
}

// getdelim, as glibc 2.36's: -1 for a stream with its error flag set, for the
// end before the first byte, and when the line cannot grow (ENOMEM, EOVERFLOW).
ssize_t read_delimited(char** line, std::size_t* size, int delim, FILE* f) {
    const StreamLock held(f, true);
    if (f->_flags & kErrorSeen) return -1;
    if (!*line || *size == 0) {
        *size = 120;
        *line = static_cast<char*>(malloc(*size));
        if (!*line) return -1;
    }
    std::size_t count = 0;
    const bool grown = read_until(f, delim, SIZE_MAX, [&](const char* from, std::size_t n) {
        if (n >= static_cast<std::size_t>(SSIZE_MAX) - count) {
            errno = EOVERFLOW;
            f->_flags |= kErrorSeen;
            return false;
        }
        std::size_t needed = count + n + 1;
        if (needed > *size) {
            needed = std::max(needed, 2 * *size);
            auto* larger = static_cast<char*>(realloc(*line, needed));
            if (!larger) return false;
            *line = larger;
            *size = needed;
        }
        memcpy(*line + count, from, n);
        count += n;
        return true;
    });
    if (!grown || count == 0) return -1;
    (*line)[count] = '\0';
    return static_cast<ssize_t>(count);
}

// fread of `bytes` bytes: each glibc call takes what the buffer holds, or, after
// the wait, what the descriptor has (FIONREAD), so none of its reads blocks.
// Returns the bytes read.
std::size_t read_bytes(void* p, std::size_t bytes, FILE* f, bool lock) {
    const StreamLock held(f, lock);
    auto* to = static_cast<char*>(p);
    std::size_t got = 0;
    while (got < bytes) {
        std::size_t chunk = bytes - got;
        if (f->_IO_read_ptr < f->_IO_read_end) {
            chunk = std::min(chunk, static_cast<std::size_t>(f->_IO_read_end - f->_IO_read_ptr));
        } else {
            if (!wait_for_input(f)) break;
            int ready = 0;  // 0 at the end or after an error: glibc's read then returns at once
            if (f->_fileno >= 0 && real::ioctl(f->_fileno, FIONREAD, &ready) == 0 && ready > 0)
                chunk = std::min(chunk, static_cast<std::size_t>(ready));
        }
        const std::size_t r = real::fread_unlocked(to + got, 1, chunk, f);
        got += r;
        if (r < chunk) break;
    }
    return got;
}

// The bytes an fread of `n` items of `size` reads cooperatively, or 0 when
// glibc's own call does (no bytes, too many to count, all in the buffer).
std::size_t cooperative_bytes(std::size_t size, std::size_t n, FILE* f) noexcept {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(size, n, &bytes) || !needs_more(f, bytes, kNoDelimiter)) return 0;
    return bytes;
}

// fread's result for `got` of `bytes` bytes in items of `size`.
std::size_t items(std::size_t got, std::size_t bytes, std::size_t size, std::size_t n) noexcept {
    return got == bytes ? n : got / size;
}

}  // namespace
}  // namespace shim

using shim::needs_more;

GREEN_HOOK char* fgets(char* s, int n, FILE* f) {
    if (n <= 1 || !needs_more(f, static_cast<std::size_t>(n) - 1, '\n')) return shim::real::fgets(s, n, f);
    return shim::read_line(s, static_cast<std::size_t>(n) - 1, f, true, 0);
}

GREEN_HOOK char* __fgets_chk(char* s, size_t size, int n, FILE* f) {
    const std::size_t most = n > 1 ? std::min(static_cast<std::size_t>(n) - 1, size) : 0;
    if (most == 0 || !needs_more(f, most, '\n')) return shim::real::__fgets_chk(s, size, n, f);
    return shim::read_line(s, most, f, true, size);
}

GREEN_HOOK char* fgets_unlocked(char* s, int n, FILE* f) {
    if (n <= 1 || !needs_more(f, static_cast<std::size_t>(n) - 1, '\n')) return shim::real::fgets_unlocked(s, n, f);
    return shim::read_line(s, static_cast<std::size_t>(n) - 1, f, false, 0);
}

GREEN_HOOK ssize_t getdelim(char** line, size_t* size, int delim, FILE* f) {
    if (!line || !size || !f || (f->_flags & shim::kErrorSeen) || !needs_more(f, SIZE_MAX, delim))
        return shim::real::getdelim(line, size, delim, f);
    return shim::read_delimited(line, size, delim, f);
}

GREEN_HOOK ssize_t __getdelim(char** line, size_t* size, int delim, FILE* f) { return getdelim(line, size, delim, f); }

GREEN_HOOK ssize_t getline(char** line, size_t* size, FILE* f) { return getdelim(line, size, '\n', f); }

GREEN_HOOK size_t fread(void* p, size_t size, size_t n, FILE* f) {
    const size_t bytes = shim::cooperative_bytes(size, n, f);
    if (bytes == 0) return shim::real::fread(p, size, n, f);
    return shim::items(shim::read_bytes(p, bytes, f, true), bytes, size, n);
}

GREEN_HOOK size_t __fread_chk(void* p, size_t space, size_t size, size_t n, FILE* f) {
    const size_t bytes = shim::cooperative_bytes(size, n, f);
    if (bytes == 0 || bytes > space) return shim::real::__fread_chk(p, space, size, n, f);  // which fails a bad size
    return shim::items(shim::read_bytes(p, bytes, f, true), bytes, size, n);
}

GREEN_HOOK size_t fread_unlocked(void* p, size_t size, size_t n, FILE* f) {
    const size_t bytes = shim::cooperative_bytes(size, n, f);
    if (bytes == 0) return shim::real::fread_unlocked(p, size, n, f);
    return shim::items(shim::read_bytes(p, bytes, f, false), bytes, size, n);
}

GREEN_HOOK int fgetc(FILE* f) {
    if (!shim::wait_for_input(f)) return EOF;
    return shim::real::fgetc(f);
}

GREEN_HOOK int getc(FILE* f) { return fgetc(f); }

GREEN_HOOK int _IO_getc(FILE* f) { return fgetc(f); }

GREEN_HOOK int getchar(void) { return fgetc(stdin); }

GREEN_HOOK int fgetc_unlocked(FILE* f) {
    if (!shim::wait_for_input(f)) return EOF;
    return shim::real::fgetc_unlocked(f);
}

GREEN_HOOK int getc_unlocked(FILE* f) { return fgetc_unlocked(f); }

GREEN_HOOK int getchar_unlocked(void) { return fgetc_unlocked(stdin); }

// What getc_unlocked and getchar_unlocked, inlined by an optimising compiler,
// call when the buffer is empty.
GREEN_HOOK int __uflow(FILE* f) {
    if (!shim::wait_for_input(f)) return EOF;
    return shim::real::__uflow(f);
}
