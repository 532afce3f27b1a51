// Thread probe: stdio input on pipes and sockets (fgets, getline, getdelim,
// getc, fread) while other threads run. A thread that waits in fgets for a
// line another thread writes 100 ms later lets the others run meanwhile
// (getc_unlocked and the other _unlocked calls too), as an OS thread does;
// under greenrun --threads, before the stdio hooks, glibc's internal read
// blocked the carrier, and the writer (a green thread of the same carrier)
// never ran: the watchdog ended the probe. So with the rest of a line, a
// record or an fread that comes 100 ms after its start (before, only a call's
// first read waited). Also: a request written with fputs to an "r+" socket
// stream goes out before the wait for its answer; a handler without
// SA_RESTART ends the wait with EINTR and the stream's error flag; SO_RCVTIMEO
// with EAGAIN (mid-line: the start of the line); a cancellation mid-line ends
// the thread and frees the stream; two readers of one stream each get whole
// lines; the end of a pipe with EOF. Built with _FORTIFY_SOURCE, where fgets
// and fread are __fgets_chk and __fread_chk.
#include "probe_threads.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

struct Later {
    int fd;
    const char* data;
};

// Writes `data` to `fd` 100 ms from now (the fd stays open).
static void* write_later(void* arg) {
    const struct Later* l = arg;
    sleep_ms(100);
    if (write(l->fd, l->data, strlen(l->data)) < 0) must(-1, "write");
    return NULL;
}

// Reads from the stream over `fds[0]` with `read_one` while a writer thread
// sends `data` 100 ms later (after `first`, written at once) and a ticker
// counts: the reader got what `want` says and the ticker ran meanwhile.
static void read_while_others_run(const char* what, int fds[2], const char* first, const char* data,
                                  void (*read_one)(FILE*, char*, size_t), const char* want) {
    FILE* f = fdopen(fds[0], "r");
    if (!f) must(-1, "fdopen");
    if (write(fds[1], first, strlen(first)) < 0) must(-1, "write");
    struct Later later = {fds[1], data};
    pthread_t ticker = counter_start();
    pthread_t writer = spawn(write_later, &later);
    char got[128] = "";
    read_one(f, got, sizeof got);
    got[strcspn(got, "\n")] = '\0';
    const int ticks = counter_ticks();
    join(writer);
    counter_stop(ticker);
    char line[200];
    snprintf(line, sizeof line, "%s: what was read", what);
    check_str(line, got, want);
    snprintf(line, sizeof line, "%s: other threads ran during the wait", what);
    check_yes(line, ticks >= 5);
    fclose(f);
    close(fds[1]);
}

static void with_fgets(FILE* f, char* got, size_t n) {
    if (!fgets(got, (int)n, f)) strcpy(got, "(none)");
}

static void with_getline(FILE* f, char* got, size_t n) {
    char* line = NULL;
    size_t size = 0;
    const ssize_t r = getline(&line, &size, f);
    snprintf(got, n, "%zd %s", r, r > 0 ? line : "");
    free(line);
}

static void with_fread_of_ten(FILE* f, char* got, size_t n) {
    char buf[11] = "";
    const size_t r = fread(buf, 2, 5, f);
    snprintf(got, n, "%zu %s", r, buf);
}

static void with_getdelim(FILE* f, char* got, size_t n) {
    char* record = NULL;
    size_t size = 0;
    const ssize_t r = getdelim(&record, &size, ';', f);
    snprintf(got, n, "%zd %s", r, r > 0 ? record : "");
    free(record);
}

static void with_getc(FILE* f, char* got, size_t n) {
    const int a = getc(f), b = fgetc(f), c = getc(f);
    snprintf(got, n, "%c%c%c", a, b, c);
}

static void with_fread(FILE* f, char* got, size_t n) {
    char buf[6] = "";
    const size_t r = fread(buf, 1, 5, f);
    snprintf(got, n, "%zu %s", r, buf);
}

// getc_unlocked, which the optimising compiler inlines: it calls __uflow when
// the buffer is empty.
static void with_getc_unlocked(FILE* f, char* got, size_t n) {
    flockfile(f);
    const int a = getc_unlocked(f), b = getc_unlocked(f);
    funlockfile(f);
    snprintf(got, n, "%c%c", a, b);
}

static void with_unlocked_calls(FILE* f, char* got, size_t n) {
    char word[4] = "";
    const size_t r = fread_unlocked(word, 1, 3, f);
    char rest[32] = "";
    if (!fgets_unlocked(rest, sizeof rest, f)) strcpy(rest, "(none)");
    snprintf(got, n, "%zu %s|%s", r, word, rest);
}

static void pipe_or_die(int fds[2]) { must(pipe(fds), "pipe"); }

static void socketpair_or_die(int fds[2]) { must(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), "socketpair"); }

// The other end of an "r+" stream: answers each line with "echo " and the line.
static void* echo_lines(void* arg) {
    FILE* f = fdopen(*(int*)arg, "r+");
    char line[64];
    while (fgets(line, sizeof line, f)) {
        fprintf(f, "echo %s", line);
        fflush(f);
    }
    fclose(f);
    return NULL;
}

static void request_then_answer(void) {
    int fds[2];
    socketpair_or_die(fds);
    pthread_t echo = spawn(echo_lines, &fds[1]);
    FILE* f = fdopen(fds[0], "r+");
    fputs("ping\n", f);  // buffered: glibc writes it before it reads the answer
    char got[64] = "(none)";
    if (!fgets(got, sizeof got, f)) strcpy(got, "(none)");
    got[strcspn(got, "\n")] = '\0';
    check_str("r+ stream: the answer to a request not flushed", got, "echo ping");
    fclose(f);
    join(echo);
}

static void on_usr1(int sig) { (void)sig; }

struct Kill {
    pthread_t target;
};

static void* usr1_later(void* arg) {
    sleep_ms(100);
    pthread_kill(((struct Kill*)arg)->target, SIGUSR1);
    return NULL;
}

static void interrupted_by_a_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;  // no SA_RESTART
    sigaction(SIGUSR1, &sa, NULL);
    int fds[2];
    pipe_or_die(fds);
    FILE* f = fdopen(fds[0], "r");
    struct Kill k = {pthread_self()};
    pthread_t killer = spawn(usr1_later, &k);
    char got[64];
    errno = 0;
    const char* r = fgets(got, sizeof got, f);
    const int e = errno;
    join(killer);
    check_str("fgets interrupted by a handler without SA_RESTART", r ? "a line" : "NULL", "NULL");
    check_err("  errno", e, EINTR);
    check_int("  ferror", ferror(f) != 0, 1);
    fclose(f);
    close(fds[1]);
    signal(SIGUSR1, SIG_DFL);
}

static void receive_timeout(void) {
    int fds[2];
    socketpair_or_die(fds);
    struct timeval tv = {0, 100 * 1000};
    must(setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt");
    FILE* f = fdopen(fds[0], "r");
    char got[64];
    const double start = now();
    errno = 0;
    const char* r = fgets(got, sizeof got, f);
    const int e = errno;
    check_str("fgets on a socket with SO_RCVTIMEO", r ? "a line" : "NULL", "NULL");
    check_err("  errno", e, EAGAIN);
    check_took("  after the timeout", now() - start, 0.1);
    fclose(f);
    close(fds[1]);
}

// The timeout after the start of a line: glibc's fgets returns the start
// (the error is EAGAIN), with the stream's error flag set.
static void receive_timeout_mid_line(void) {
    int fds[2];
    socketpair_or_die(fds);
    struct timeval tv = {0, 100 * 1000};
    must(setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt");
    FILE* f = fdopen(fds[0], "r");
    if (write(fds[1], "par", 3) != 3) must(-1, "write");
    char got[64];
    errno = 0;
    const char* r = fgets(got, sizeof got, f);
    const int e = errno;
    check_str("fgets when SO_RCVTIMEO passes mid-line", r ? got : "NULL", "par");
    check_err("  errno", e, EAGAIN);
    check_int("  ferror", ferror(f) != 0, 1);
    fclose(f);
    close(fds[1]);
}

struct Reader {
    FILE* f;
    int returned;
};

static void* read_a_line(void* arg) {
    struct Reader* r = arg;
    char got[64];
    fgets(got, sizeof got, r->f);
    r->returned = 1;
    return NULL;
}

// A thread cancelled in fgets, mid-line (glibc's read is a cancellation
// point): it ends with PTHREAD_CANCELED, the start of the line goes with it,
// and the stream's lock is free for the next reader.
static void cancelled_mid_line(void) {
    int fds[2];
    pipe_or_die(fds);
    struct Reader r = {fdopen(fds[0], "r"), 0};
    if (write(fds[1], "par", 3) != 3) must(-1, "write");
    pthread_t reader = spawn(read_a_line, &r);
    sleep_ms(100);
    pthread_cancel(reader);
    void* result = NULL;
    pthread_join(reader, &result);
    check_int("fgets cancelled mid-line: the thread was cancelled", result == PTHREAD_CANCELED && !r.returned, 1);
    if (write(fds[1], "tial\nnext\n", 10) != 10) must(-1, "write");
    char got[64];
    check_str("  then the next line's rest", fgets(got, sizeof got, r.f) ? got : "NULL", "tial\n");
    fclose(r.f);
    close(fds[1]);
}

struct Shared {
    FILE* f;
    char lines[2][64];
};

static void* read_two_lines(void* arg) {
    struct Shared* s = arg;
    for (int i = 0; i < 2; ++i) {
        char got[64];
        if (!fgets(got, sizeof got, s->f)) strcpy(got, "NULL\n");
        got[strcspn(got, "\n")] = '\0';
        strcpy(s->lines[i], got);
    }
    return NULL;
}

// Two threads read lines of one stream, each line sent in two halves 50 ms
// apart: each fgets holds the stream for its whole line, as glibc's lock
// does, so every line read is whole.
static void two_readers_of_one_stream(void) {
    int fds[2];
    pipe_or_die(fds);
    struct Shared a = {fdopen(fds[0], "r"), {"", ""}}, b = a;
    pthread_t ra = spawn(read_two_lines, &a), rb = spawn(read_two_lines, &b);
    const char* halves[] = {"li", "ne one\n", "li", "ne two\n", "li", "ne three\n", "li", "ne four\n"};
    for (int i = 0; i < 8; ++i) {
        sleep_ms(50);
        if (write(fds[1], halves[i], strlen(halves[i])) < 0) must(-1, "write");
    }
    join(ra);
    join(rb);
    int whole = 0;
    const char* want[] = {"line one", "line two", "line three", "line four"};
    for (int i = 0; i < 4; ++i) {
        const char* got = i < 2 ? a.lines[i] : b.lines[i - 2];
        for (int j = 0; j < 4; ++j) whole += strcmp(got, want[j]) == 0;
    }
    check_int("two readers of one stream: whole lines read", whole, 4);
    fclose(a.f);
    close(fds[1]);
}

static void end_of_pipe(void) {
    int fds[2];
    pipe_or_die(fds);
    FILE* f = fdopen(fds[0], "r");
    struct Later later = {fds[1], "last"};
    pthread_t writer = spawn(write_later, &later);
    join(writer);
    close(fds[1]);
    char got[64] = "";
    check_str("fgets of a last line without a newline", fgets(got, sizeof got, f) ? got : "NULL", "last");
    check_str("  then", fgets(got, sizeof got, f) ? "a line" : "NULL", "NULL");
    check_int("  feof", feof(f) != 0, 1);
    fclose(f);
}

// glibc fails at once where there is nothing to wait for: a stream not opened
// for reading, and one at its end (sticky since glibc 2.28), here a terminal
// after a ^D, where more input could still come.
static void nothing_to_wait_for(void) {
    int fds[2];
    pipe_or_die(fds);
    FILE* w = fdopen(fds[1], "w");
    char got[64];
    errno = 0;
    const char* r = fgets(got, sizeof got, w);
    check_str("fgets of a stream opened for writing", r ? "a line" : "NULL", "NULL");
    check_err("  errno", errno, EBADF);
    fclose(w);
    close(fds[0]);
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) must(-1, "posix_openpt");
    const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0) must(-1, "open the terminal");
    if (write(master, "abc\n\x04", 5) != 5) must(-1, "write to the terminal");
    FILE* t = fdopen(slave, "r");
    if (!fgets(got, sizeof got, t)) strcpy(got, "NULL");
    got[strcspn(got, "\n")] = '\0';
    check_str("terminal: a line", got, "abc");
    check_str("  then ^D", fgets(got, sizeof got, t) ? "a line" : "NULL", "NULL");
    const double start = now();
    check_str("  then again, at once", fgets(got, sizeof got, t) || now() - start > 1 ? "no" : "NULL", "NULL");
    fclose(t);
    close(master);
}

int main(void) {
    watchdog(30);
    int fds[2];
    pipe_or_die(fds);
    read_while_others_run("fgets of a pipe", fds, "", "a line\n", with_fgets, "a line");
    socketpair_or_die(fds);
    read_while_others_run("getline of a socket", fds, "", "two words\n", with_getline, "10 two words");
    pipe_or_die(fds);
    read_while_others_run("getc and fgetc of a pipe", fds, "", "xyz", with_getc, "xyz");
    socketpair_or_die(fds);
    read_while_others_run("fread of a socket", fds, "", "12345", with_fread, "5 12345");
    pipe_or_die(fds);
    read_while_others_run("getc_unlocked of a pipe", fds, "", "uv", with_getc_unlocked, "uv");
    socketpair_or_die(fds);
    read_while_others_run("fread_unlocked and fgets_unlocked of a socket", fds, "", "abcdef\n", with_unlocked_calls,
                          "3 abc|def");
    // The rest of a line, a record or a count of bytes comes later: the
    // wait for it lets the others run too.
    pipe_or_die(fds);
    read_while_others_run("fgets of a line whose rest comes later", fds, "hal", "f a line\n", with_fgets, "half a line");
    socketpair_or_die(fds);
    read_while_others_run("getline of a line whose rest comes later", fds, "two ", "words\nmore", with_getline,
                          "10 two words");
    pipe_or_die(fds);
    read_while_others_run("getdelim of a record whose rest comes later", fds, "a rec", "ord;next", with_getdelim,
                          "9 a record;");
    socketpair_or_die(fds);
    read_while_others_run("fread of ten bytes, five later", fds, "12345", "67890", with_fread_of_ten, "5 1234567890");
    pipe_or_die(fds);
    read_while_others_run("fread_unlocked and fgets_unlocked, the rest later", fds, "abcd", "ef\n", with_unlocked_calls,
                          "3 abc|def");
    request_then_answer();
    interrupted_by_a_handler();
    receive_timeout();
    receive_timeout_mid_line();
    cancelled_mid_line();
    two_readers_of_one_stream();
    end_of_pipe();
    nothing_to_wait_for();
    printf("done\n");
    return probe_failures ? 1 : 0;
}
