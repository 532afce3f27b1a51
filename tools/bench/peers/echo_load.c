/* usage: echo_load PORT [C=1000 connections] [D=5 seconds] [S=64 bytes]
 * Echo load generator (single-threaded, epoll): C connections to
 * 127.0.0.1:PORT each ping-pong an S-byte message (send it, wait for all S
 * bytes back, send again). A 0.5 s warm-up is not counted; then for D seconds
 * round trips are counted.
 * Prints: RESULT echo_roundtrips_per_sec <round trips / s> rt/s
 * Build: gcc -O2 echo_load.c -o echo_load
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAX_MSG 65536
static int MSG = 64;

/* Per connection: bytes of the current message sent and received so far;
 * out: registered for EPOLLOUT (connecting, or send buffer was full). */
struct conn { int fd, sent, got, connected, out; };

static int ep;
static char msg[MAX_MSG];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void watch(struct conn *c, int op, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &e)) { perror("epoll_ctl"); exit(1); }
}

/* Sends the rest of the current message; waits for EPOLLOUT if it can't. */
static void send_rest(struct conn *c) {
    while (c->sent < MSG) {
        ssize_t w = write(c->fd, msg + c->sent, MSG - c->sent);
        if (w < 0) {
            if (errno == EAGAIN) {
                if (!c->out) watch(c, EPOLL_CTL_MOD, EPOLLOUT);
                c->out = 1;
                return;
            }
            if (errno == EINTR) continue;
            perror("write");
            exit(1);
        }
        c->sent += (int)w;
    }
    if (c->out) watch(c, EPOLL_CTL_MOD, EPOLLIN); /* only on change: saves a syscall */
    c->out = 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: echo_load PORT [C=1000] [D=5] [S=64]\n"); return 2; }
    int port = atoi(argv[1]);
    int nc = argc > 2 ? atoi(argv[2]) : 1000;
    double dur = argc > 3 ? atof(argv[3]) : 5.0, warm = 0.5;
    if (argc > 4) MSG = atoi(argv[4]);
    if (MSG < 1 || MSG > MAX_MSG) { fprintf(stderr, "echo_load: message size 1..%d\n", MAX_MSG); return 2; }
    memset(msg, 'e', MSG);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    ep = epoll_create1(0);
    struct conn *cs = calloc(nc, sizeof *cs);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < nc; i++) {
        int one = 1;
        cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (cs[i].fd < 0) { perror("socket"); return 1; }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
            perror("connect");
            return 1;
        }
        cs[i].out = 1;
        watch(&cs[i], EPOLL_CTL_ADD, EPOLLOUT); /* writable = connected (or failed) */
    }

    struct epoll_event evs[1024];
    long counted = 0;
    int connected = 0;
    double t0 = now(), start = 0, end = 0;
    for (;;) {
        int n = epoll_wait(ep, evs, 1024, 1000);
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        double t = now();
        if (connected == nc && t >= end) break;
        if (!start && t - t0 > 10) { fprintf(stderr, "only %d/%d connected\n", connected, nc); return 1; }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c->connected) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) { errno = err; perror("connect"); return 1; }
                c->connected = 1;
                if (++connected == nc) { /* all up: warm up, then measure */
                    start = t + warm;
                    end = start + dur;
                }
                send_rest(c);
            } else if (evs[i].events & EPOLLOUT) {
                send_rest(c);
            } else {
                char buf[MAX_MSG];
                ssize_t r = read(c->fd, buf, MSG - c->got);
                if (r <= 0) {
                    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                    fprintf(stderr, "server closed a connection\n");
                    return 1;
                }
                c->got += (int)r;
                if (c->got < MSG) continue; /* partial read: wait for the rest */
                if (start && t >= start && t < end) counted++;
                c->got = c->sent = 0;
                send_rest(c);
            }
        }
    }
    fprintf(stderr, "%d conns, %ld round trips in %.1f s\n", nc, counted, dur);
    printf("RESULT echo_roundtrips_per_sec %.0f rt/s\n", counted / dur);
    return 0;
}
