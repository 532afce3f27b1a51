// Thread probe: stdio output to pipes and sockets (fputs, fprintf, printf,
// puts, fwrite, putc, the _unlocked calls, fflush, fclose, dprintf) while
// other threads run. The pipe or socket is full and its reader drains it only
// 150 ms later: a thread whose stdio call must wait for room lets the others
// run meanwhile, as an OS thread blocked in write does. Under greenrun
// --threads, before the stdio output hooks, glibc's internal write blocked the
// carrier and every green thread on it: the counter thread did not tick. Also:
// every byte arrives, in order; two threads' fwrites of 64 KiB each to one
// stream arrive whole, one after the other, as glibc's stream lock makes them;
// %m prints the errno the program set;
// a handler without SA_RESTART ends the wait with EINTR and the stream's error
// flag. Built fortified too, where printf, fprintf and dprintf are
// __printf_chk, __fprintf_chk and __dprintf_chk.
#include "probe_threads.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

// Fills the pipe or socket whose writing end is `fd`; returns the bytes written.
static size_t fill(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    must(fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl");
    static const char block[4096];
    size_t total = 0;
    for (;;) {
        const ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) break;
        total += (size_t)n;
    }
    must(fcntl(fd, F_SETFL, flags), "fcntl");
    return total;
}

struct Drain {
    int fd;
    size_t skip;    // the filling bytes, not kept
    char* kept;     // what came after them (up to `room`)
    size_t room;
    size_t total;   // every byte, to the end
};

// After 150 ms, reads `d->fd` to its end.
static void* drain_later(void* arg) {
    struct Drain* d = arg;
    sleep_ms(150);
    char buf[8192];
    for (;;) {
        const ssize_t n = read(d->fd, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i, ++d->total)
            if (d->total >= d->skip && d->total - d->skip < d->room) d->kept[d->total - d->skip] = buf[i];
    }
    return NULL;
}

enum { kKept = 1 << 18 };
static char kept[kKept];

// Runs `write_all` on a stream of a full pipe (or socket pair) while the
// counter ticks; then checks what arrived against `want` (its first
// `want_len` bytes) and that the others ran during the wait.
static void write_while_others_run(const char* what, int socket, void (*write_all)(FILE*), const char* want,
                                   size_t want_len) {
    int fds[2];
    must(socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds), "pipe");
    memset(kept, 0, sizeof kept);
    struct Drain d = {fds[0], fill(fds[1]), kept, sizeof kept, 0};
    FILE* f = fdopen(fds[1], "w");
    if (!f) must(-1, "fdopen");
    pthread_t ticker = counter_start();
    pthread_t reader = spawn(drain_later, &d);
    write_all(f);
    fclose(f);
    const int ticks = counter_ticks();
    join(reader);
    counter_stop(ticker);
    close(fds[0]);
    char line[200];
    snprintf(line, sizeof line, "%s: bytes after the filling", what);
    check_int(line, (long)(d.total - d.skip), (long)want_len);
    snprintf(line, sizeof line, "%s: they are what was written", what);
    check_yes(line, memcmp(kept, want, want_len < sizeof kept ? want_len : sizeof kept) == 0);
    snprintf(line, sizeof line, "%s: other threads ran during the wait", what);
    check_yes(line, ticks >= 5);
}

static void with_fputs(FILE* f) {
    fputs("a line\n", f);
    fflush(f);
}

static void with_fprintf(FILE* f) {
    fprintf(f, "%s %d\n", "number", 42);
    fflush(f);
}

// %m is errno's text: what the hook asks the kernel before it formats must not change it.
static void with_errno_text(FILE* f) {
    errno = ENOENT;
    fprintf(f, "%m|");
    fflush(f);
}

static void with_fclose_only(FILE* f) { fputs("closed", f); }  // the fclose after it flushes

static char big[1 << 16];

static void with_big_fwrite(FILE* f) {
    if (fwrite(big, 1, sizeof big, f) != sizeof big) printf("short fwrite\n");
}

static void with_putc(FILE* f) {
    for (size_t i = 0; i < 3 * 4096; ++i) putc(big[i], f);
    fflush(f);
}

static void with_putc_unlocked(FILE* f) {
    flockfile(f);
    for (size_t i = 0; i < 3 * 4096; ++i) putc_unlocked(big[i], f);  // inline: __overflow when full
    fflush_unlocked(f);
    funlockfile(f);
}

static void with_fwrite_unlocked(FILE* f) {
    flockfile(f);
    fputs_unlocked("un", f);
    fwrite_unlocked("locked\n", 1, 7, f);
    fflush_unlocked(f);
    funlockfile(f);
}

// printf and puts to stdout, made the pipe for the while.
static void with_printf_to_stdout(FILE* f) {
    fflush(stdout);
    const int saved = dup(1);
    must(dup2(fileno(f), 1) < 0 ? -1 : 0, "dup2");
    printf("%s-%d|", "printf", 7);
    puts("puts");
    putchar('!');
    fflush(stdout);
    must(dup2(saved, 1) < 0 ? -1 : 0, "dup2");
    close(saved);
}

static void with_dprintf(FILE* f) { dprintf(fileno(f), "%s %d\n", "dprintf", 3); }

// Two threads' fwrites to one stream.
static void* fwrite_b(void* f) {
    static char b[1 << 16];
    memset(b, 'b', sizeof b);
    if (fwrite(b, 1, sizeof b, f) != sizeof b) printf("short fwrite\n");
    return NULL;
}

static void with_two_writers(FILE* f) {
    static char a[1 << 16];
    memset(a, 'a', sizeof a);
    pthread_t other = spawn(fwrite_b, f);
    if (fwrite(a, 1, sizeof a, f) != sizeof a) printf("short fwrite\n");
    join(other);
    fflush(f);
}

static void two_writers(void) {
    int fds[2];
    must(pipe(fds), "pipe");
    memset(kept, 0, sizeof kept);
    struct Drain d = {fds[0], fill(fds[1]), kept, sizeof kept, 0};
    FILE* f = fdopen(fds[1], "w");
    pthread_t reader = spawn(drain_later, &d);
    with_two_writers(f);
    fclose(f);
    join(reader);
    close(fds[0]);
    check_int("two fwrites of 64 KiB to one stream: bytes", (long)(d.total - d.skip), 2L << 16);
    size_t runs = 1;
    for (size_t i = 1; i < (2u << 16); ++i) runs += kept[i] != kept[i - 1];
    check_int("two fwrites of 64 KiB to one stream: runs of one byte", (long)runs, 2);
}

static void on_alarm(int sig) { (void)sig; }

// A handler without SA_RESTART ends the wait for room as it ends a write.
static void interrupted(void) {
    int fds[2];
    must(pipe(fds), "pipe");
    fill(fds[1]);
    FILE* f = fdopen(fds[1], "w");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    must(sigaction(SIGALRM, &sa, NULL), "sigaction");
    ualarm(100000, 0);
    fputs("never", f);
    const int r = fflush(f);
    const int e = errno;
    check_int("fflush of a full pipe, interrupted: result", r, EOF);
    check_err("fflush of a full pipe, interrupted: errno", e, EINTR);
    check_yes("fflush of a full pipe, interrupted: the stream's error flag", ferror(f) != 0);
    signal(SIGALRM, SIG_DFL);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    fclose(f);
    signal(SIGPIPE, SIG_DFL);
}

int main(void) {
    watchdog(30);
    for (size_t i = 0; i < sizeof big; ++i) big[i] = (char)('a' + i % 23);
    write_while_others_run("fputs and fflush to a pipe", 0, with_fputs, "a line\n", 7);
    write_while_others_run("fprintf and fflush to a socket", 1, with_fprintf, "number 42\n", 10);
    write_while_others_run("fprintf of %m to a socket", 1, with_errno_text, "No such file or directory|", 26);
    write_while_others_run("fclose with output held", 0, with_fclose_only, "closed", 6);
    write_while_others_run("fwrite of 64 KiB to a pipe", 0, with_big_fwrite, big, sizeof big);
    write_while_others_run("fwrite of 64 KiB to a socket", 1, with_big_fwrite, big, sizeof big);
    write_while_others_run("putc of 12 KiB to a pipe", 0, with_putc, big, 3 * 4096);
    write_while_others_run("putc_unlocked of 12 KiB to a socket", 1, with_putc_unlocked, big, 3 * 4096);
    write_while_others_run("fputs_unlocked and fwrite_unlocked to a pipe", 0, with_fwrite_unlocked, "unlocked\n", 9);
    write_while_others_run("printf, puts and putchar to stdout, a pipe", 0, with_printf_to_stdout, "printf-7|puts\n!",
                           15);
    write_while_others_run("dprintf to a pipe", 0, with_dprintf, "dprintf 3\n", 10);
    two_writers();
    interrupted();
    return finish();
}
