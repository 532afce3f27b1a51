// fgets, getline, getc, fread and the rest of stdio's byte input (the
// _unlocked variants too, and __uflow, which getc_unlocked inlined calls). glibc fills a
// stream's buffer with its internal read, out of the read hook's reach: a green
// thread reading a socket, pipe or terminal through stdio (fdopen and fgets, a
// thread reading stdin) would block its carrier until the data came. Before a
// call that has to fill an empty buffer, the hook parks the greenlet until the
// descriptor is readable, then makes glibc's call, whose first read finds
// data. Only the first read: a line whose rest comes later, or an fread of
// more than has arrived, still blocks in glibc (SYMBOLS.md).

// Optimising, glibc's stdio.h defines getline, getchar and the _unlocked
// calls inline (__USE_EXTERN_INLINES), and clang refuses to see them
// defined again below: this file wants the plain declarations.
#include <features.h>
#undef __USE_EXTERN_INLINES

#include <poll.h>
#include <stdio.h>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

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
// failed read sets it; the caller then returns its failure.
bool wait_for_input(FILE* f) noexcept {
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

}  // namespace
}  // namespace shim

GREEN_HOOK char* fgets(char* s, int n, FILE* f) {
    if (n > 1 && !shim::wait_for_input(f)) return nullptr;
    return shim::real::fgets(s, n, f);
}

GREEN_HOOK char* __fgets_chk(char* s, size_t size, int n, FILE* f) {
    if (n > 1 && !shim::wait_for_input(f)) return nullptr;
    return shim::real::__fgets_chk(s, size, n, f);
}

GREEN_HOOK ssize_t getdelim(char** line, size_t* size, int delim, FILE* f) {
    if (line && size && f && !shim::wait_for_input(f)) return -1;
    return shim::real::getdelim(line, size, delim, f);
}

GREEN_HOOK ssize_t __getdelim(char** line, size_t* size, int delim, FILE* f) { return getdelim(line, size, delim, f); }

GREEN_HOOK ssize_t getline(char** line, size_t* size, FILE* f) { return getdelim(line, size, '\n', f); }

GREEN_HOOK int fgetc(FILE* f) {
    if (!shim::wait_for_input(f)) return EOF;
    return shim::real::fgetc(f);
}

GREEN_HOOK int getc(FILE* f) { return fgetc(f); }

GREEN_HOOK int _IO_getc(FILE* f) { return fgetc(f); }

GREEN_HOOK int getchar(void) { return fgetc(stdin); }

GREEN_HOOK size_t fread(void* p, size_t size, size_t n, FILE* f) {
    if (size != 0 && n != 0 && !shim::wait_for_input(f)) return 0;
    return shim::real::fread(p, size, n, f);
}

GREEN_HOOK size_t __fread_chk(void* p, size_t space, size_t size, size_t n, FILE* f) {
    if (size != 0 && n != 0 && !shim::wait_for_input(f)) return 0;
    return shim::real::__fread_chk(p, space, size, n, f);
}

GREEN_HOOK char* fgets_unlocked(char* s, int n, FILE* f) {
    if (n > 1 && !shim::wait_for_input(f)) return nullptr;
    return shim::real::fgets_unlocked(s, n, f);
}

GREEN_HOOK size_t fread_unlocked(void* p, size_t size, size_t n, FILE* f) {
    if (size != 0 && n != 0 && !shim::wait_for_input(f)) return 0;
    return shim::real::fread_unlocked(p, size, n, f);
}

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
