/* usage: epoll_https PORT CERT KEY
 * Hand-written single-threaded epoll + OpenSSL HTTPS hello server on
 * 127.0.0.1:PORT (TLS 1.3 only): the performance floor for green::tls. Every
 * request (anything ending in "\r\n\r\n"; bodies are not supported) gets a
 * fixed keep-alive "Hello, World!" response. Non-blocking SSL on each socket,
 * level-triggered epoll; records already read into OpenSSL's buffer are
 * consumed before going back to epoll. Runs until killed.
 * Build: gcc -O2 epoll_https.c -o epoll_https -lssl -lcrypto
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoll_listen.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>

#define RESP "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"
#define RESP_LEN (sizeof(RESP) - 1)
#define BATCH 64 /* responses per SSL_write */

/* Per connection: its SSL (NULL: unused), whether the handshake is done, how
 * much of "\r\n\r\n" was matched at the end of the last read, and how many
 * response bytes are still owed (non-zero only when the socket was full). */
struct conn { SSL *ssl; int ready; unsigned char match; unsigned long owed; };

static struct conn *conns;
static char rbuf[64 * 1024];
static char wbuf[(BATCH + 1) * RESP_LEN]; /* RESP repeated: any tail + BATCH fits */
static int ep;

static void set_events(int fd, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void drop(int fd) {
    SSL_free(conns[fd].ssl);
    close(fd);
    conns[fd] = (struct conn){0};
    ERR_clear_error();
}

/* After an SSL call returned r <= 0: wait for what it wants (0), or drop (-1). */
static int want(int fd, int r) {
    switch (SSL_get_error(conns[fd].ssl, r)) {
    case SSL_ERROR_WANT_READ: set_events(fd, EPOLLIN); return 0;
    case SSL_ERROR_WANT_WRITE: set_events(fd, EPOLLOUT); return 0;
    default: drop(fd); return -1;
    }
}

/* Writes the owed responses; 0 when done or waiting for EPOLLOUT, -1 dropped. */
static int flush_owed(int fd) {
    struct conn *c = &conns[fd];
    while (c->owed) {
        size_t off = (RESP_LEN - c->owed % RESP_LEN) % RESP_LEN;
        size_t n = c->owed < BATCH * RESP_LEN ? c->owed : BATCH * RESP_LEN, w = 0;
        int r = SSL_write_ex(c->ssl, wbuf + off, n, &w);
        if (r <= 0) return want(fd, r);
        c->owed -= w;
    }
    return 0;
}

static void on_event(int fd, unsigned events) {
    struct conn *c = &conns[fd];
    if (!c->ready) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) { want(fd, r); return; }
        c->ready = 1;
        set_events(fd, EPOLLIN);
    }
    if (c->owed) {
        if (flush_owed(fd) < 0 || conns[fd].owed) return;
        set_events(fd, EPOLLIN);
        if (events == EPOLLOUT) return;
    }
    static const char term[4] = "\r\n\r\n";
    unsigned long reqs = 0;
    do {
        size_t n = 0;
        int r = SSL_read_ex(c->ssl, rbuf, sizeof rbuf, &n);
        if (r <= 0) {
            if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) break;
            drop(fd); /* closed (cleanly or not) or failed */
            return;
        }
        unsigned m = c->match;
        for (size_t i = 0; i < n; i++) {
            char ch = rbuf[i];
            if (ch == term[m]) {
                if (++m == 4) { reqs++; m = 0; }
            } else {
                m = (ch == '\r');
            }
        }
        c->match = (unsigned char)m;
    } while (SSL_has_pending(c->ssl)); /* a record already buffered: epoll would not say */
    if (!reqs) return;
    c->owed += reqs * RESP_LEN;
    flush_owed(fd);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: epoll_https PORT CERT KEY\n"); return 2; }
    for (int i = 0; i <= BATCH; i++) memcpy(wbuf + i * RESP_LEN, RESP, RESP_LEN);

    signal(SIGPIPE, SIG_IGN); /* OpenSSL's socket BIO writes with write(2) */
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);

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
                    SSL *ssl = SSL_new(ctx);
                    if (!ssl || SSL_set_fd(ssl, cfd) != 1) { SSL_free(ssl); close(cfd); continue; }
                    SSL_set_accept_state(ssl);
                    conns[cfd] = (struct conn){.ssl = ssl};
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
            } else if (conns[fd].ssl) {
                on_event(fd, evs[i].events);
            }
        }
    }
}
