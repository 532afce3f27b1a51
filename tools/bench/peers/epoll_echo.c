/* usage: epoll_echo PORT
 * Hand-written single-threaded epoll echo server on 127.0.0.1:PORT: echoes
 * whatever it reads. Runs until killed; prints "listening" to stderr.
 * Build: gcc -O2 epoll_echo.c -o epoll_echo
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoll_listen.h"

/* Bytes read but not yet written back (only when the send buffer is full). */
struct conn { char *pend; size_t len; };

static struct conn *conns;
static char buf[64 * 1024];
static int ep;

static void set_events(int fd, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void drop(int fd) {
    close(fd);
    free(conns[fd].pend);
    conns[fd] = (struct conn){0};
}

/* Writes p[0..n); keeps the unwritten rest and waits for EPOLLOUT. */
static void send_or_keep(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) { drop(fd); return; }
            struct conn *c = &conns[fd];
            char *keep = malloc(n);
            memcpy(keep, p, n);
            free(c->pend);
            *c = (struct conn){keep, n};
            set_events(fd, EPOLLOUT); /* stop reading until the client drains */
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: epoll_echo PORT\n"); return 2; }
    const struct listener l = epoll_listen(atoi(argv[1]));
    ep = l.ep;
    conns = calloc(l.max_fds, sizeof *conns);

    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            struct conn *c = &conns[fd];
            if (fd == l.ls) {
                int cfd;
                while ((cfd = epoll_accept(&l)) >= 0) {
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
            } else if (evs[i].events & EPOLLOUT) {
                struct conn old = *c;
                *c = (struct conn){0};
                send_or_keep(fd, old.pend, old.len); /* may keep a new rest */
                free(old.pend);
                if (!c->pend) set_events(fd, EPOLLIN);
            } else {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r > 0) send_or_keep(fd, buf, (size_t)r);
                else if (r == 0 || (errno != EAGAIN && errno != EINTR)) drop(fd);
            }
        }
    }
}
