// A "real program" for the shim tests: blocking I/O the way C programs do it,
// printing every result and errno name (never a timing, only whether a wait
// took about as long as it should). Built twice: with -O2 -D_FORTIFY_SOURCE=3
// (read, recv, recvfrom and poll become __read_chk, __recv_chk, __recvfrom_chk,
// __poll_chk) and with -D_FILE_OFFSET_BITS=64 (fcntl64, sendfile64).
//
//   probe_io io             the whole tour; exit 0
//   probe_io overflow-read  read() with n larger than the buffer: glibc aborts
//   probe_io overflow-recv  the same with recv()
//   probe_io overflow-poll  poll() with nfds larger than the array
//   probe_io pipe-writer    writes a little to stdout in every way the shim
//                           hooks (write, writev, stdio, sendfile, poll)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

// Sizes the compiler cannot see, so the fortified wrappers call the _chk variants.
static volatile size_t v16 = 16, v64 = 64, v4096 = 4096;
static volatile nfds_t v1 = 1, v2 = 2;

// Prints "label: r" or "label: -1 ENAME".
static void show(const char* label, long r) {
    if (r < 0)
        printf("%s: %ld %s\n", label, r, en(errno));
    else
        printf("%s: %ld\n", label, r);
}


// A new regular file, already unlinked: -1 if none could be made.
static int temp_file(void) {
    char path[] = "/tmp/green-probe-XXXXXX";
    const int f = mkstemp(path);
    if (f >= 0) unlink(path);
    return f;
}

static void set_alarm_handler(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
}

static void alarm_in_ms(int ms) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

// A child that sleeps `ms`, then writes `text` to `fd` and exits.
static pid_t write_later(int fd, const char* text, int ms) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        usleep((useconds_t)ms * 1000);
        if (write(fd, text, strlen(text)) < 0) _exit(1);
        _exit(0);
    }
    return pid;
}

// The older ways to install a handler (glibc builds them on its internal
// sigaction): whether a handler interrupts a blocking read is the same with and
// without the shim. `p` is an empty pipe.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // legacy programs call them: that is the point
static void older_signal_interfaces(int p[2]) {
    char buf[64];
    signal(SIGALRM, on_alarm);  // BSD semantics: SA_RESTART
    siginterrupt(SIGALRM, 1);
    alarm_in_ms(100);
    show("read interrupted (siginterrupt 1)", read(p[0], buf, v16));
    signal(SIGALRM, on_alarm);  // glibc remembers siginterrupt: still no SA_RESTART
    alarm_in_ms(100);
    show("read interrupted (signal after siginterrupt 1)", read(p[0], buf, v16));
    siginterrupt(SIGALRM, 0);
    pid_t child = write_later(p[1], "again", 250);
    alarm_in_ms(80);
    memset(buf, 0, sizeof buf);
    show("read restarted (siginterrupt 0)", read(p[0], buf, v16));
    printf("read restarted got: %s\n", buf);
    reap(child);

    // sysv_signal: no SA_RESTART, and the handler runs once.
    printf("sysv_signal returns the previous handler: %d\n", sysv_signal(SIGALRM, on_alarm) == on_alarm);
    alarm_in_ms(100);
    show("read interrupted (sysv_signal)", read(p[0], buf, v16));
    struct sigaction now_installed;
    sigaction(SIGALRM, NULL, &now_installed);
    printf("sysv_signal handler reset to SIG_DFL: %d\n", now_installed.sa_handler == SIG_DFL);

    // sigset: no SA_RESTART; SIG_HOLD blocks the signal and reports the handler.
    printf("sigset returns the previous disposition: %d\n", sigset(SIGALRM, on_alarm) == SIG_DFL);
    alarm_in_ms(100);
    show("read interrupted (sigset)", read(p[0], buf, v16));
    printf("sigset(SIG_HOLD) returns the handler: %d\n", sigset(SIGALRM, SIG_HOLD) == on_alarm);
    printf("sigset(SIG_HOLD) again returns SIG_HOLD: %d\n", sigset(SIGALRM, SIG_HOLD) == SIG_HOLD);
    printf("sigset(SIG_DFL) of a held signal returns SIG_HOLD: %d\n", sigset(SIGALRM, SIG_DFL) == SIG_HOLD);
    printf("sigset(-1) fails: %d\n", sigset(-1, SIG_DFL) == SIG_ERR);
    show("siginterrupt(-1)", siginterrupt(-1, 1));
    show("signal(SIG_ERR)", signal(SIGALRM, SIG_ERR) == SIG_ERR ? -1 : 0);
    show("sysv_signal(SIG_ERR)", sysv_signal(SIGALRM, SIG_ERR) == SIG_ERR ? -1 : 0);
    show("signal(0)", signal(0, on_alarm) == SIG_ERR ? -1 : 0);
}
#pragma GCC diagnostic pop

static void pipes_and_files(void) {
    int p[2];
    if (pipe(p) != 0) die("pipe");
    char buf[64];
    show("pipe write hello", write(p[1], "hello", 5));
    memset(buf, 0, sizeof buf);
    show("pipe read (__read_chk)", read(p[0], buf, v16));
    printf("pipe read got: %s\n", buf);

    // The program's own O_NONBLOCK: EAGAIN at once, and F_GETFL shows it.
    const int fl = fcntl(p[0], F_GETFL);
    printf("F_GETFL nonblock=%d accmode=%d\n", (fl & O_NONBLOCK) != 0, fl & O_ACCMODE);
    show("F_SETFL O_NONBLOCK", fcntl(p[0], F_SETFL, fl | O_NONBLOCK));
    printf("F_GETFL nonblock=%d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    show("read empty nonblocking pipe", read(p[0], buf, v16));
    show("F_SETFL back", fcntl(p[0], F_SETFL, fl));
    printf("F_GETFL nonblock=%d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    printf("F_GETFD cloexec=%d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    show("F_SETFD FD_CLOEXEC", fcntl(p[0], F_SETFD, FD_CLOEXEC));
    printf("F_GETFD cloexec=%d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    const int d = fcntl(p[0], F_DUPFD_CLOEXEC, 100);
    printf("F_DUPFD_CLOEXEC >= 100: %d\n", d >= 100);
    close(d);
    show("F_GETPIPE_SZ > 0", fcntl(p[0], F_GETPIPE_SZ) > 0);

    // A blocking read that waits for a writer (another process).
    double t0 = now();
    pid_t child = write_later(p[1], "later", 150);
    memset(buf, 0, sizeof buf);
    show("blocking pipe read", read(p[0], buf, v16));
    printf("blocking pipe read got: %s waited=%d\n", buf, about(now() - t0, 0.15));
    reap(child);

    // readv and writev.
    struct iovec out[2] = {{"ab", 2}, {"cdef", 4}};
    show("writev", writev(p[1], out, 2));
    char a[3] = {0}, b[8] = {0};
    struct iovec in[2] = {{a, 2}, {b, 7}};
    show("readv", readv(p[0], in, 2));
    printf("readv got: %s|%s\n", a, b);

    // A signal handler without SA_RESTART interrupts a blocking read: EINTR.
    set_alarm_handler(0);
    t0 = now();
    alarm_in_ms(100);
    show("read interrupted (no SA_RESTART)", read(p[0], buf, v16));
    printf("interrupted after about 0.1 s: %d\n", about(now() - t0, 0.1));
    // With SA_RESTART the read goes on and gets the data written later.
    set_alarm_handler(1);
    child = write_later(p[1], "restarted", 250);
    alarm_in_ms(80);
    memset(buf, 0, sizeof buf);
    show("read restarted (SA_RESTART)", read(p[0], buf, v16));
    printf("read restarted got: %s\n", buf);
    reap(child);
    older_signal_interfaces(p);
    signal(SIGALRM, SIG_DFL);

    // End of file.
    close(p[1]);
    show("read at EOF", read(p[0], buf, v16));
    close(p[0]);
    show("read closed fd", read(p[0], buf, v16));
    show("write closed fd", write(p[0], "x", 1));

    // A regular file.
    const int f = temp_file();
    if (f < 0) die("mkstemp");
    show("file write", write(f, "0123456789", 10));
    show("lseek", lseek(f, 2, SEEK_SET));
    memset(buf, 0, sizeof buf);
    show("file read", read(f, buf, v4096 > sizeof buf ? sizeof buf - 1 : v4096));
    printf("file read got: %s\n", buf);
    close(f);
}

static void socket_pairs(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    char buf[64];
    show("send abc", send(sv[1], "abc", 3, 0));
    memset(buf, 0, sizeof buf);
    show("recv (__recv_chk)", recv(sv[0], buf, v16, 0));
    printf("recv got: %s\n", buf);
    show("send def", send(sv[1], "def", 3, 0));
    memset(buf, 0, sizeof buf);
    show("recvfrom (__recvfrom_chk)", recvfrom(sv[0], buf, v16, 0, NULL, NULL));
    printf("recvfrom got: %s\n", buf);
    show("recv MSG_DONTWAIT on empty", recv(sv[0], buf, v16, MSG_DONTWAIT));

    // MSG_WAITALL collects what arrives in two parts.
    pid_t child = write_later(sv[1], "world", 100);
    show("send hello", send(sv[1], "hello", 5, 0));
    memset(buf, 0, sizeof buf);
    show("recv MSG_WAITALL 10", recv(sv[0], buf, 10, MSG_WAITALL));
    printf("recv MSG_WAITALL got: %s\n", buf);
    reap(child);

    // ioctl FIONBIO: the program's own non-blocking mode.
    int on = 1;
    show("ioctl FIONBIO 1", ioctl(sv[0], FIONBIO, &on));
    printf("F_GETFL nonblock=%d\n", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
    double t0 = now();
    show("recv after FIONBIO", recv(sv[0], buf, v16, 0));
    printf("did not wait: %d\n", now() - t0 < 0.1);
    on = 0;
    show("ioctl FIONBIO 0", ioctl(sv[0], FIONBIO, &on));
    printf("F_GETFL nonblock=%d\n", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
    int avail = -1;
    show("send xyz", send(sv[1], "xyz", 3, 0));
    show("ioctl FIONREAD", ioctl(sv[0], FIONREAD, &avail));
    printf("FIONREAD says %d\n", avail);
    memset(buf, 0, sizeof buf);
    show("recv xyz", recv(sv[0], buf, v16, 0));

    // SO_RCVTIMEO: EAGAIN after the timeout; getsockopt reads back what was set.
    struct timeval tv = {0, 200000};
    show("setsockopt SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timeval back = {0, 0};
    socklen_t len = sizeof back;
    show("getsockopt SO_RCVTIMEO", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &len));
    printf("SO_RCVTIMEO reads back %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
    t0 = now();
    show("recv with SO_RCVTIMEO", recv(sv[0], buf, v16, 0));
    printf("timed out after about 0.2 s: %d\n", about(now() - t0, 0.2));
    t0 = now();
    show("read with SO_RCVTIMEO", read(sv[0], buf, v16));
    printf("timed out after about 0.2 s: %d\n", about(now() - t0, 0.2));
    struct timeval zero = {0, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);

    // SO_SNDTIMEO on a full socket: EAGAIN (or a partial count) after the timeout.
    int small = 4096;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    show("setsockopt SO_SNDTIMEO", setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    static char big[1 << 20];
    t0 = now();
    long total = 0;
    for (int i = 0; i < 64; ++i) {
        const long n = send(sv[1], big, sizeof big, 0);
        if (n < 0) {
            printf("filling send ends with: %s\n", en(errno));
            break;
        }
        total += n;
        if (n < (long)sizeof big) {
            printf("filling send ends with a partial count\n");
            break;
        }
    }
    printf("send stopped after about 0.2 s: %d, sent something: %d\n", about(now() - t0, 0.2), total > 0);
    close(sv[0]);
    close(sv[1]);

    // recv after the peer closed.
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    close(sv[1]);
    show("recv after peer closed", recv(sv[0], buf, v16, 0));
    show("send after peer closed (MSG_NOSIGNAL)", send(sv[0], "x", 1, MSG_NOSIGNAL));
    close(sv[0]);

    // A datagram pair.
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) die("socketpair dgram");
    show("dgram send", send(sv[1], "datagram", 8, 0));
    memset(buf, 0, sizeof buf);
    show("dgram recv into 4 bytes", recv(sv[0], buf, 4, 0));
    printf("dgram recv got: %s\n", buf);
    close(sv[0]);
    close(sv[1]);
}

// A copy of `fd` made the way `how` names: it shares fd's open file description.
static int copy_of(int fd, const char* how) {
    if (strcmp(how, "dup") == 0) return dup(fd);
    if (strcmp(how, "syscall(SYS_dup)") == 0) return (int)syscall(SYS_dup, fd);
    if (strcmp(how, "pidfd_getfd") == 0) {
        const int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        const int copy = pidfd < 0 ? -1 : pidfd_getfd(pidfd, fd, 0);
        if (pidfd >= 0) close(pidfd);
        return copy;
    }
    if (strcmp(how, "dup2") == 0) return dup2(fd, 100);
    if (strcmp(how, "F_DUPFD_CLOEXEC") == 0) return fcntl(fd, F_DUPFD_CLOEXEC, 0);
    // SCM_RIGHTS: fd sent to this process through a socket pair of its own.
    int ch[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ch) != 0) die("socketpair");
    char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {&byte, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(ch[0], &m, 0) != 1) die("sendmsg");
    memset(cbuf, 0, sizeof cbuf);
    m.msg_controllen = sizeof cbuf;
    if (recvmsg(ch[1], &m, 0) != 1) die("recvmsg");
    int copy = -1;
    c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&copy, CMSG_DATA(c), sizeof copy);
    close(ch[0]);
    close(ch[1]);
    return copy;
}

// A receive on `fd` with nothing there, after the flags or the timeout were
// changed through another descriptor of the same description: it must not
// wait as if nothing had changed (an alarm ends such a wait with EINTR).
static void empty_receive(const char* label, int fd, double expected_wait) {
    char buf[16];
    alarm_in_ms(3000);
    const double t0 = now();
    show(label, recv(fd, buf, sizeof buf, 0));
    printf("waited about %.1f s: %d\n", expected_wait, expected_wait == 0 ? now() - t0 < 0.1 : about(now() - t0, expected_wait));
    alarm_in_ms(0);
}

// Flags and timeouts live in the open file description or the socket, which
// copies share: a change through one is seen through every other, however the
// copy was made, and whichever was used last.
static void shared_descriptions(void) {
    set_alarm_handler(0);
    // First a change made with syscall(), which no libc call of the shim sees.
    int raw[2];
    char byte;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, raw) != 0) die("socketpair");
    send(raw[1], "a", 1, 0);
    show("recv before a raw F_SETFL", recv(raw[0], &byte, 1, 0));
    syscall(SYS_fcntl, raw[0], F_SETFL, O_NONBLOCK);
    empty_receive("syscall(SYS_fcntl, F_SETFL, O_NONBLOCK), recv", raw[0], 0);
    close(raw[0]);
    close(raw[1]);
    // pidfd_getfd and SCM_RIGHTS last: once a process receives descriptors, none is alone.
    const char* ways[] = {"dup", "syscall(SYS_dup)", "dup2", "F_DUPFD_CLOEXEC", "pidfd_getfd", "SCM_RIGHTS"};
    for (size_t i = 0; i < sizeof ways / sizeof *ways; ++i) {
        int sv[2];
        char buf[16], label[96];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
        const int copy = copy_of(sv[0], ways[i]);
        printf("%s made a copy: %d\n", ways[i], copy >= 0);
        if (copy < 0) continue;
        // Both are used once, blocking, before the changes.
        send(sv[1], "ab", 2, 0);
        show("recv through the copy", recv(copy, buf, 1, 0));
        show("recv through the original", recv(sv[0], buf, 1, 0));
        snprintf(label, sizeof label, "%s: O_NONBLOCK set through the original, recv through the copy", ways[i]);
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        empty_receive(label, copy, 0);
        fcntl(sv[0], F_SETFL, 0);
        snprintf(label, sizeof label, "%s: FIONBIO through the copy, recv through the original", ways[i]);
        int on = 1;
        ioctl(copy, FIONBIO, &on);
        empty_receive(label, sv[0], 0);
        on = 0;
        ioctl(copy, FIONBIO, &on);
        snprintf(label, sizeof label, "%s: SO_RCVTIMEO set through the original, recv through the copy", ways[i]);
        struct timeval tv = {0, 300000};
        setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        empty_receive(label, copy, 0.3);
        close(copy);
        close(sv[0]);
        close(sv[1]);
    }
    signal(SIGALRM, SIG_DFL);
}

static int tcp_listener(struct sockaddr_in* where) {
    const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(where, 0, sizeof *where);
    where->sin_family = AF_INET;
    where->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof *where;
    if (bind(l, (struct sockaddr*)where, sizeof *where) != 0 || listen(l, 16) != 0) die("listen");
    getsockname(l, (struct sockaddr*)where, &len);
    return l;
}

static void tcp(void) {
    struct sockaddr_in at;
    const int l = tcp_listener(&at);
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    show("connect", connect(c, (struct sockaddr*)&at, sizeof at));
    printf("F_GETFL after connect nonblock=%d\n", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0);
    const int s = accept(l, NULL, NULL);
    printf("accept: %d\n", s >= 0);
    char buf[64];
    show("tcp send", send(c, "over tcp", 8, 0));
    memset(buf, 0, sizeof buf);
    show("tcp recv", recv(s, buf, v16, 0));
    printf("tcp recv got: %s\n", buf);
    show("connect again (EISCONN)", connect(c, (struct sockaddr*)&at, sizeof at));
    close(s);
    close(c);

    // A closed port: ECONNREFUSED, from connect and from the non-blocking path.
    const int port = ntohs(at.sin_port);
    close(l);
    (void)port;
    const int r = socket(AF_INET, SOCK_STREAM, 0);
    show("connect to closed port", connect(r, (struct sockaddr*)&at, sizeof at));
    close(r);

    // accept that waits for a client (another process).
    const int l2 = tcp_listener(&at);
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        const int k = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(k, (struct sockaddr*)&at, sizeof at) != 0) _exit(1);
        if (send(k, "from child", 10, 0) != 10) _exit(1);
        close(k);
        _exit(0);
    }
    const double t0 = now();
    const int s2 = accept4(l2, NULL, NULL, SOCK_CLOEXEC);
    printf("accept4 waited for the client: %d %d\n", s2 >= 0, about(now() - t0, 0.1));
    memset(buf, 0, sizeof buf);
    show("recv MSG_WAITALL from child", recv(s2, buf, 10, MSG_WAITALL));
    printf("got: %s\n", buf);
    show("recv EOF", recv(s2, buf, v16, 0));
    reap(pid);
    close(s2);
    close(l2);
}

static void sendfiles(void) {
    const int f = temp_file();
    if (f < 0) die("mkstemp");
    char data[10000];
    for (size_t i = 0; i < sizeof data; ++i) data[i] = (char)('a' + i % 26);
    if (write(f, data, sizeof data) != (ssize_t)sizeof data) die("write");

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    off_t off = 100;
    show("sendfile to socket", sendfile(sv[1], f, &off, 5000));
    printf("offset now %ld\n", (long)off);
    char got[6000];
    long n = 0;
    while (n < 5000) {
        const long r = recv(sv[0], got + n, v4096 < 5000 - (size_t)n ? v4096 : 5000 - (size_t)n, 0);
        if (r <= 0) break;
        n += r;
    }
    printf("socket got %ld bytes, same as the file: %d\n", n, n == 5000 && memcmp(got, data + 100, 5000) == 0);
    printf("F_GETFL after sendfile nonblock=%d\n", (fcntl(sv[1], F_GETFL) & O_NONBLOCK) != 0);
    close(sv[0]);
    close(sv[1]);

    int p[2];
    if (pipe(p) != 0) die("pipe");
    lseek(f, 0, SEEK_SET);
    show("sendfile to pipe (file position)", sendfile(p[1], f, NULL, 3000));
    printf("file position now %ld\n", (long)lseek(f, 0, SEEK_CUR));
    n = 0;
    while (n < 3000) {
        const long r = read(p[0], got + n, v4096 < 3000 - (size_t)n ? v4096 : 3000 - (size_t)n);
        if (r <= 0) break;
        n += r;
    }
    printf("pipe got %ld bytes, same as the file: %d\n", n, n == 3000 && memcmp(got, data, 3000) == 0);
    printf("F_GETFL pipe after sendfile nonblock=%d\n", (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0);
    off = 9990;
    show("sendfile past the end", sendfile(p[1], f, &off, 100));
    show("sendfile from a closed fd", sendfile(p[1], 999, NULL, 10));
    close(p[0]);
    close(p[1]);
    close(f);
}

// splice and tee: blocking moves between pipes, a file and a socket, and the
// errors the kernel gives at once.
static void splices(void) {
    int a[2], b[2], sv[2];
    if (pipe(a) != 0 || pipe(b) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("pipe");
    char buf[64];
    pid_t child = write_later(a[1], "later", 150);
    show("splice from an empty pipe (waits)", splice(a[0], NULL, b[1], NULL, 64, 0));
    reap(child);
    memset(buf, 0, sizeof buf);
    show("read what was spliced", read(b[0], buf, v16));
    printf("got: %s\n", buf);
    child = write_later(a[1], "teed", 150);
    show("tee from an empty pipe (waits)", tee(a[0], b[1], 64, 0));
    reap(child);
    memset(buf, 0, sizeof buf);
    show("read the copy", read(b[0], buf, v16));
    printf("copy: %s\n", buf);
    show("splice the original to a socket", splice(a[0], NULL, sv[1], NULL, 64, 0));
    child = write_later(sv[0], "back", 150);
    show("splice from a socket (waits)", splice(sv[1], NULL, b[1], NULL, 64, 0));
    reap(child);
    memset(buf, 0, sizeof buf);
    show("read it", read(b[0], buf, v16));
    printf("got: %s\n", buf);
    printf("F_GETFL socket after splice nonblock=%d\n", (fcntl(sv[1], F_GETFL) & O_NONBLOCK) != 0);
    loff_t off = 0;
    show("splice with an offset on a pipe", splice(a[0], &off, b[1], NULL, 64, 0));
    show("splice a pipe into itself", splice(a[0], NULL, a[1], NULL, 64, 0));
    show("tee from a socket", tee(sv[0], b[1], 64, 0));
    show("splice between two sockets", splice(sv[0], NULL, sv[1], NULL, 64, 0));
    show("splice from a closed fd", splice(999, NULL, b[1], NULL, 64, 0));
    show("splice with unknown flags", splice(a[0], NULL, b[1], NULL, 64, 0x1000));
    const int fl = fcntl(a[0], F_GETFL);
    fcntl(a[0], F_SETFL, fl | O_NONBLOCK);
    show("splice from an empty O_NONBLOCK pipe", splice(a[0], NULL, b[1], NULL, 64, 0));
    fcntl(a[0], F_SETFL, fl);
    show("splice with SPLICE_F_NONBLOCK", splice(a[0], NULL, b[1], NULL, 64, SPLICE_F_NONBLOCK));
    close(a[1]);
    show("splice at end of stream", splice(a[0], NULL, b[1], NULL, 64, 0));
    close(a[0]);
    close(b[0]);
    close(b[1]);
    close(sv[0]);
    close(sv[1]);
}

static void multiplexing(void) {
    int p[2];
    if (pipe(p) != 0) die("pipe");
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    show("poll (__poll_chk) both", poll(fds, v2, 1000));
    printf("revents %#x %#x\n", fds[0].revents, fds[1].revents);
    double t0 = now();
    show("poll empty pipe 100 ms", poll(fds, v1, 100));
    printf("poll waited about 0.1 s: %d\n", about(now() - t0, 0.1));
    pid_t child = write_later(p[1], "!", 100);
    show("poll -1 until a writer", poll(fds, v1, -1));
    printf("revents %#x\n", fds[0].revents);
    reap(child);
    char buf[16];
    read(p[0], buf, v16);

    struct timespec ts = {0, 50000000};
    t0 = now();
    show("ppoll 50 ms", ppoll(fds, v1, &ts, NULL));
    printf("ppoll waited about 0.05 s: %d\n", about(now() - t0, 0.05));

    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {0, 100000};
    t0 = now();
    show("select empty pipe 100 ms", select(p[0] + 1, &r, NULL, NULL, &tv));
    printf("select waited about 0.1 s: %d, set now %d, timeval left %ld.%06ld\n", about(now() - t0, 0.1),
           FD_ISSET(p[0], &r) != 0, (long)tv.tv_sec, (long)tv.tv_usec);
    write(p[1], "x", 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    fd_set w;
    FD_ZERO(&w);
    FD_SET(p[1], &w);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    show("select readable and writable", select(p[1] + 1, &r, &w, NULL, &tv));
    printf("sets %d %d\n", FD_ISSET(p[0], &r) != 0, FD_ISSET(p[1], &w) != 0);
    read(p[0], buf, v16);

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    show("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    struct epoll_event out[4];
    t0 = now();
    show("epoll_wait empty 100 ms", epoll_wait(ep, out, 4, 100));
    printf("epoll_wait waited about 0.1 s: %d\n", about(now() - t0, 0.1));
    child = write_later(p[1], "e", 100);
    show("epoll_wait -1 until a writer", epoll_wait(ep, out, 4, -1));
    printf("event fd is the pipe: %d events %#x\n", out[0].data.fd == p[0], out[0].events);
    reap(child);
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void sleeps(void) {
    double t0 = now();
    show("usleep 50 ms", usleep(50000));
    printf("slept about 0.05 s: %d\n", about(now() - t0, 0.05));
    struct timespec req = {0, 50000000}, rem = {9, 9};
    t0 = now();
    show("nanosleep 50 ms", nanosleep(&req, &rem));
    printf("slept about 0.05 s: %d\n", about(now() - t0, 0.05));
    req.tv_nsec = 2000000000L;
    show("nanosleep invalid", nanosleep(&req, NULL));
    req.tv_sec = 0;
    req.tv_nsec = 30000000;
    printf("clock_nanosleep: %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));
    show("sleep 0", sleep(0));
    set_alarm_handler(0);
    alarm_in_ms(50);
    req.tv_sec = 2;
    req.tv_nsec = 0;
    t0 = now();
    show("nanosleep interrupted", nanosleep(&req, &rem));
    printf("interrupted after about 0.05 s: %d, rem plausible: %d\n", about(now() - t0, 0.05),
           rem.tv_sec <= 2 && rem.tv_sec >= 1);

    // Waiting for a signal: pause, and sigsuspend with SIGALRM let through only
    // while it waits.
    set_alarm_handler(1);  // SA_RESTART or not, these always end with EINTR
    alarm_in_ms(50);
    show("pause", pause());
    sigset_t alrm, before, during;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alrm, &before);
    during = before;
    sigdelset(&during, SIGALRM);
    alarm_in_ms(50);
    show("sigsuspend", sigsuspend(&during));
    sigset_t after;
    sigprocmask(SIG_SETMASK, NULL, &after);
    printf("SIGALRM blocked again after sigsuspend: %d\n", sigismember(&after, SIGALRM));
    sigprocmask(SIG_SETMASK, &before, NULL);
    signal(SIGALRM, SIG_DFL);
}

static int tour(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("== pipes and files\n");
    pipes_and_files();
    printf("== socket pairs\n");
    socket_pairs();
    printf("== shared open file descriptions\n");
    shared_descriptions();
    printf("== tcp\n");
    tcp();
    printf("== sendfile\n");
    sendfiles();
    printf("== splice and tee\n");
    splices();
    printf("== poll, select, epoll\n");
    multiplexing();
    printf("== sleeps\n");
    sleeps();
    printf("== done\n");
    return 0;
}

static int pipe_writer(void) {
    // Writes a little to stdout in each way the shim hooks.
    const char line[] = "write\n";
    if (write(1, line, sizeof line - 1) < 0) return 1;
    struct iovec v[2] = {{"write", 5}, {"v\n", 2}};
    if (writev(1, v, 2) < 0) return 1;
    printf("stdio\n");
    fflush(stdout);
    struct pollfd p = {1, POLLOUT, 0};
    if (poll(&p, v1, 1000) != 1) return 1;
    const int f = temp_file();
    if (f < 0) return 1;
    if (write(f, "sendfile\n", 9) != 9) return 1;
    off_t off = 0;
    if (sendfile(1, f, &off, 9) != 9) return 1;
    close(f);
    usleep(1000);
    return 0;
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "io";
    if (!strcmp(mode, "io")) return tour();
    if (!strcmp(mode, "pipe-writer")) return pipe_writer();
    char small[8];
    int p[2];
    if (pipe(p) != 0) return 1;
    write(p[1], "0123456789abcdef", 16);
    if (!strcmp(mode, "overflow-read")) {
        printf("read %ld\n", (long)read(p[0], small, v64));
        return 0;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    send(sv[1], "0123456789abcdef", 16, 0);
    if (!strcmp(mode, "overflow-recv")) {
        printf("recv %ld\n", (long)recv(sv[0], small, v64, 0));
        return 0;
    }
    if (!strcmp(mode, "overflow-poll")) {
        struct pollfd one[1] = {{p[0], POLLIN, 0}};
        printf("poll %d\n", poll(one, v2, 100));
        return 0;
    }
    fprintf(stderr, "usage: probe_io io|pipe-writer|overflow-read|overflow-recv|overflow-poll\n");
    return 2;
}
