/* usage: epoll_http PORT
 * Hand-written single-threaded epoll HTTP/1.1 hello server on 127.0.0.1:PORT:
 * the performance floor. Every request (anything ending in "\r\n\r\n";
 * pipelining-safe, bodies are not supported) gets a fixed keep-alive
 * "Hello, World!" response. Runs until killed; prints "listening" to stderr.
 * Build: gcc -O2 epoll_http.c -o epoll_http
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoll_listen.h"

#define RESP "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"
#define RESP_LEN (sizeof(RESP) - 1)
#define BATCH 64 /* responses per write() */

/* Per connection: how much of "\r\n\r\n" was matched at the end of the last
 * read, and how many response bytes are still owed (non-zero only when the
 * socket's send buffer filled up). Requests are never buffered, so a shared
 * read buffer is enough and nothing is allocated per request. */
struct conn { unsigned char match; unsigned long owed; };

static struct conn *conns;
static char rbuf[64 * 1024];
static char wbuf[(BATCH + 1) * RESP_LEN]; /* RESP repeated: any tail + BATCH fits */
static int ep;

static void set_events(int fd, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void drop(int fd) { close(fd); conns[fd] = (struct conn){0}; }

/* Writes as much of the owed bytes as the socket takes; 0 ok, -1 dropped. */
static int flush_owed(int fd) {
    struct conn *c = &conns[fd];
    while (c->owed) {
        /* The owed bytes are a tail of RESP repeated; find where it starts. */
        size_t off = (RESP_LEN - c->owed % RESP_LEN) % RESP_LEN;
        size_t n = c->owed < BATCH * RESP_LEN ? c->owed : BATCH * RESP_LEN;
        ssize_t w = write(fd, wbuf + off, n);
        if (w < 0) {
            if (errno == EAGAIN) return 0;
            if (errno == EINTR) continue;
            drop(fd);
            return -1;
        }
        c->owed -= (unsigned long)w;
    }
    return 0;
}

static void on_readable(int fd) {
    struct conn *c = &conns[fd];
    ssize_t n = read(fd, rbuf, sizeof rbuf);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        drop(fd);
        return;
    }
    static const char term[4] = "\r\n\r\n";
    unsigned m = c->match, reqs = 0;
    for (ssize_t i = 0; i < n; i++) {
        char ch = rbuf[i];
        if (ch == term[m]) {
            if (++m == 4) { reqs++; m = 0; }
        } else {
            m = (ch == '\r'); /* "\r" restarts a match; nothing else can */
        }
    }
    c->match = (unsigned char)m;
    if (!reqs) return;
    c->owed += (unsigned long)reqs * RESP_LEN;
    if (flush_owed(fd) == 0 && c->owed)
        set_events(fd, EPOLLOUT); /* stop reading until the client drains */
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: epoll_http PORT\n"); return 2; }
    for (int i = 0; i <= BATCH; i++) memcpy(wbuf + i * RESP_LEN, RESP, RESP_LEN);

    const struct listener l = epoll_listen(atoi(argv[1]));
    ep = l.ep;
    conns = calloc(l.max_fds, sizeof *conns);

    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l.ls) {
                int cfd;
                while ((cfd = epoll_accept(&l)) >= 0) {
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
            } else if (evs[i].events & EPOLLOUT) {
                if (flush_owed(fd) == 0 && !conns[fd].owed) set_events(fd, EPOLLIN);
            } else {
                /* EPOLLIN, EPOLLHUP or EPOLLERR: read() tells which. */
                on_readable(fd);
            }
        }
    }
}
