// A "real program" for the shim tests: poll in its corner cases (duplicate and
// negative descriptors, nfds = 0, timeout 0, closed descriptors, events = 0,
// thousands of descriptors), printing return values, errno names and revents.
// Timings are printed only as "about right" booleans.
//   probe_poll             every case
//   probe_poll thousands   only the 3000 descriptors
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

// Prints the result of one poll call and every revents.
static void report(const char* label, int r, const struct pollfd* fds, nfds_t n) {
    if (r < 0)
        printf("%s: %d %s |", label, r, en(errno));
    else
        printf("%s: %d |", label, r);
    for (nfds_t i = 0; i < n && i < 16; ++i) printf(" %#x", (unsigned)(unsigned short)fds[i].revents);
    printf("\n");
}

static void garbage(struct pollfd* fds, nfds_t n) {
    for (nfds_t i = 0; i < n; ++i) fds[i].revents = 0x5a5a;  // the kernel must overwrite it
}

// A poll that should return after about 0.1 s (its timeout, or a child's doing).
static void poll_about_100ms(const char* label, struct pollfd* fds, nfds_t n, int timeout) {
    garbage(fds, n);
    const double t0 = now();
    report(label, poll(fds, n, timeout), fds, n);
    printf("  waited about 0.1 s: %d\n", about(now() - t0, 0.1));
}

// `fds` of which none is ready: poll with timeout 0 returns at once, with
// timeout 100 after about 0.1 s.
static void nothing_ready(const char* what, struct pollfd* fds, nfds_t n) {
    char label[128];
    garbage(fds, n);
    snprintf(label, sizeof label, "%s timeout 0", what);
    report(label, poll(fds, n, 0), fds, n);
    snprintf(label, sizeof label, "%s timeout 100", what);
    poll_about_100ms(label, fds, n, 100);
}

// A child that sleeps `ms`, then does `what` to `fd` (w: write a byte, c: close
// its copy and exit, r: drain 64 KiB) and exits.
static pid_t later(int fd, char what, int ms) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        usleep((useconds_t)ms * 1000);
        if (what == 'w' && write(fd, "w", 1) != 1) _exit(1);
        if (what == 'r') {
            static char sink[65536];
            if (read(fd, sink, sizeof sink) < 0) _exit(1);
        }
        _exit(0);
    }
    return pid;
}

static void small_cases(void) {
    int p[2], q[2];
    if (pipe(p) != 0 || pipe(q) != 0) die("pipe");
    struct pollfd f[8];
    double t0;

    nothing_ready("nfds 0", NULL, 0);

    f[0] = (struct pollfd){p[0], POLLIN, 0};
    nothing_ready("empty pipe", f, 1);

    f[0] = (struct pollfd){-1, POLLIN, 0};
    f[1] = (struct pollfd){-5, POLLOUT, 0};
    nothing_ready("negative fds", f, 2);

    if (write(p[1], "x", 1) != 1) die("write");
    f[0] = (struct pollfd){p[0], POLLIN, 0};
    f[1] = (struct pollfd){p[0], POLLIN | POLLOUT, 0};
    f[2] = (struct pollfd){-1, POLLIN, 0};
    f[3] = (struct pollfd){p[1], POLLOUT, 0};
    f[4] = (struct pollfd){p[0], 0, 0};
    f[5] = (struct pollfd){p[1], POLLIN, 0};
    garbage(f, 6);
    report("duplicates and negatives, data ready, timeout -1", poll(f, 6, -1), f, 6);
    garbage(f, 6);
    report("same, timeout 0", poll(f, 6, 0), f, 6);
    char c;
    if (read(p[0], &c, 1) != 1) die("read");

    // A descriptor that is not open: POLLNVAL, even with timeout -1.
    f[0] = (struct pollfd){999, POLLIN, 0};
    f[1] = (struct pollfd){p[0], POLLIN, 0};
    garbage(f, 2);
    report("closed fd 999 timeout -1", poll(f, 2, -1), f, 2);
    f[0] = (struct pollfd){999, 0, 0};
    garbage(f, 1);
    report("closed fd 999 events 0 timeout 100", poll(f, 1, 100), f, 1);

    // Duplicates waiting until another process writes.
    f[0] = (struct pollfd){q[0], POLLIN, 0};
    f[1] = (struct pollfd){q[0], POLLIN, 0};
    f[2] = (struct pollfd){-1, POLLIN, 0};
    pid_t child = later(q[1], 'w', 100);
    poll_about_100ms("duplicates until a writer, timeout -1", f, 3, -1);
    reap(child);
    if (read(q[0], &c, 1) != 1) die("read");

    // events = 0: only POLLHUP / POLLERR, when the last writer goes away.
    int h[2];
    if (pipe(h) != 0) die("pipe");
    child = later(h[1], 'c', 100);
    close(h[1]);
    f[0] = (struct pollfd){h[0], 0, 0};
    poll_about_100ms("events 0 until hang-up, timeout 5000", f, 1, 5000);
    reap(child);
    close(h[0]);

    // POLLOUT on a full pipe until a reader drains it.
    int full[2];
    if (pipe2(full, O_NONBLOCK) != 0) die("pipe2");
    static char chunk[4096];
    while (write(full[1], chunk, sizeof chunk) > 0) {
    }
    fcntl(full[1], F_SETFL, 0);
    f[0] = (struct pollfd){full[1], POLLOUT, 0};
    garbage(f, 1);
    report("full pipe POLLOUT timeout 0", poll(f, 1, 0), f, 1);
    child = later(full[0], 'r', 100);
    poll_about_100ms("full pipe POLLOUT until drained", f, 1, 5000);
    reap(child);
    close(full[0]);
    close(full[1]);

    // A signal handler interrupts poll: EINTR, whatever SA_RESTART says.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    f[0] = (struct pollfd){q[0], POLLIN, 0};
    garbage(f, 1);
    report("interrupted by SIGALRM (SA_RESTART)", poll(f, 1, 5000), f, 1);
    // Nothing to wait on and no timeout: only a signal handler ends the wait.
    setitimer(ITIMER_REAL, &it, NULL);
    report("nfds 0 without a timeout, until SIGALRM", poll(NULL, 0, -1), f, 0);
    setitimer(ITIMER_REAL, &it, NULL);
    f[0] = (struct pollfd){-1, POLLIN, 0};
    report("only a negative fd without a timeout, until SIGALRM", ppoll(f, 1, NULL, NULL), f, 1);
    setitimer(ITIMER_REAL, &it, NULL);
    const int sel = select(0, NULL, NULL, NULL, NULL);
    printf("select nfds 0 without a timeout, until SIGALRM: %d %s\n", sel, sel < 0 ? en(errno) : "");
    setitimer(ITIMER_REAL, &it, NULL);
    const int psel = pselect(0, NULL, NULL, NULL, NULL, NULL);
    printf("pselect nfds 0 without a timeout, until SIGALRM: %d %s\n", psel, psel < 0 ? en(errno) : "");
    signal(SIGALRM, SIG_DFL);

    // ppoll with an invalid timeout, and select's corner cases.
    struct timespec bad = {0, 2000000000L};
    f[0] = (struct pollfd){q[0], POLLIN, 0};
    report("ppoll invalid timeout", ppoll(f, 1, &bad, NULL), f, 1);
    struct timespec zero = {0, 0};
    report("ppoll zero timeout", ppoll(f, 1, &zero, NULL), f, 1);
    fd_set r;
    FD_ZERO(&r);
    struct timeval tv = {0, 50000};
    t0 = now();
    const int s0 = select(0, NULL, NULL, NULL, &tv);
    printf("select nfds 0 50 ms: %d, waited about 0.05 s: %d\n", s0, about(now() - t0, 0.05));
    tv = (struct timeval){0, -1};
    FD_ZERO(&r);
    FD_SET(q[0], &r);
    const int sn = select(q[0] + 1, &r, NULL, NULL, &tv);
    printf("select negative timeout: %d %s\n", sn, sn < 0 ? en(errno) : "");
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

static void thousands(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    const rlim_t want = 3200;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        printf("thousands: RLIMIT_NOFILE too small (%lu)\n", (unsigned long)rl.rlim_cur);
        return;
    }
    enum { kPipes = 1500, kFds = 2 * kPipes };
    static int ends[kPipes][2];
    for (int i = 0; i < kPipes; ++i)
        if (pipe(ends[i]) != 0) die("pipe (thousands)");
    static struct pollfd f[kFds + 2];
    for (int i = 0; i < kPipes; ++i) {
        f[2 * i] = (struct pollfd){ends[i][0], POLLIN, 0};
        f[2 * i + 1] = (struct pollfd){ends[i][1], (short)(i % 3 == 0 ? POLLOUT : 0), 0};
    }
    // A duplicate and a negative entry at the end.
    f[kFds] = (struct pollfd){ends[7][0], POLLIN, 0};
    f[kFds + 1] = (struct pollfd){-1, POLLIN, 0};
    const nfds_t n = kFds + 2;

    // Nothing readable; a third of the write ends asked for POLLOUT.
    garbage(f, n);
    int r = poll(f, n, 0);
    unsigned long sum = 0;
    for (nfds_t i = 0; i < n; ++i) sum = sum * 31 + (unsigned short)f[i].revents;
    printf("thousands timeout 0: %d checksum %lu\n", r, sum);

    // Only read ends: nothing ready, then one pipe gets a byte from another process.
    for (int i = 0; i < kPipes; ++i) f[2 * i + 1].events = 0;
    const int last = kPipes - 1;
    pid_t child = later(ends[last][1], 'w', 150);
    garbage(f, n);
    double t0 = now();
    r = poll(f, n, 5000);
    printf("thousands until a writer: %d waited about 0.15 s: %d\n", r, about(now() - t0, 0.15));
    for (nfds_t i = 0; i < n; ++i)
        if (f[i].revents) printf("  entry %lu revents %#x\n", (unsigned long)i, (unsigned)f[i].revents);
    reap(child);

    // Bytes in every 7th pipe, a closed write end every 11th.
    char c;
    if (read(ends[last][0], &c, 1) != 1) die("read");
    for (int i = 0; i < kPipes; i += 7)
        if (write(ends[i][1], "x", 1) != 1) die("write");
    for (int i = 5; i < kPipes; i += 11) {
        close(ends[i][1]);
        ends[i][1] = -1;
        f[2 * i + 1].fd = -1;
    }
    garbage(f, n);
    r = poll(f, n, -1);
    sum = 0;
    int in = 0, hup = 0;
    for (nfds_t i = 0; i < n; ++i) {
        sum = sum * 31 + (unsigned short)f[i].revents;
        in += (f[i].revents & POLLIN) != 0;
        hup += (f[i].revents & POLLHUP) != 0;
    }
    printf("thousands ready: %d POLLIN %d POLLHUP %d checksum %lu\n", r, in, hup, sum);

    // More descriptors than RLIMIT_NOFILE allows: EINVAL.
    static struct pollfd too_many[4000];
    for (int i = 0; i < 4000; ++i) too_many[i] = (struct pollfd){-1, 0, 0};
    struct rlimit low = rl;
    low.rlim_cur = 3500;
    setrlimit(RLIMIT_NOFILE, &low);
    r = poll(too_many, 4000, 10);
    printf("nfds above RLIMIT_NOFILE: %d %s\n", r, r < 0 ? en(errno) : "");
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int i = 0; i < kPipes; ++i) {
        close(ends[i][0]);
        if (ends[i][1] >= 0) close(ends[i][1]);
    }
}

// select with a descriptor that is not open (Linux: EBADF at once; gVisor,
// while its descriptor table is smaller than the descriptor: a timeout), in a
// child, so that a shim that mishandles it cannot take the rest down.
static void select_closed_fd(int fd, int ms) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        struct timeval tv = {0, ms * 1000};
        const double t0 = now();
        const int sr = select(fd + 1, &r, NULL, NULL, &tv);
        printf("select closed fd %d: %d %s set %d, within the timeout %d\n", fd, sr, sr < 0 ? en(errno) : "",
               FD_ISSET(fd, &r) != 0, now() - t0 < ms / 1000.0 + 1.0);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("select closed fd %d: child %s %d\n", fd, WIFEXITED(status) ? "exited" : "killed by signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "thousands")) {  // only the 3000 descriptors
        thousands();
        printf("done\n");
        return 0;
    }
    select_closed_fd(998, 200);
    small_cases();
    thousands();
    select_closed_fd(998, 200);
    printf("done\n");
    return 0;
}
