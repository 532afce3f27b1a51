/* What the hand-written epoll servers (epoll_echo, epoll_http, epoll_https)
 * share: the set-up before their loops and the accept step inside them. Each
 * server keeps its own loop and its own per-connection work. */
#ifndef GREEN_PEERS_EPOLL_LISTEN_H
#define GREEN_PEERS_EPOLL_LISTEN_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

struct listener {
    int ep;         /* the epoll instance, with `ls` registered for EPOLLIN */
    int ls;         /* the non-blocking listening socket */
    rlim_t max_fds; /* RLIMIT_NOFILE, raised to its hard limit: every fd is below it */
};

/* Raises RLIMIT_NOFILE, listens on 127.0.0.1:port and prints "listening" on
 * stderr; exits on failure. */
static struct listener epoll_listen(int port) {
    struct listener l;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    l.max_fds = rl.rlim_cur;

    int one = 1;
    l.ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(l.ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l.ls, (struct sockaddr *)&a, sizeof a) || listen(l.ls, SOMAXCONN)) {
        perror("bind/listen");
        exit(1);
    }
    l.ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = l.ls};
    epoll_ctl(l.ep, EPOLL_CTL_ADD, l.ls, &e);
    fprintf(stderr, "listening\n");
    return l;
}

/* The next pending connection, non-blocking with TCP_NODELAY, or -1 when none
 * is left; one beyond max_fds is closed and skipped. */
static int epoll_accept(const struct listener *l) {
    int cfd, one = 1;
    while ((cfd = accept4(l->ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if ((rlim_t)cfd >= l->max_fds) { close(cfd); continue; }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return cfd;
    }
    return -1;
}

#endif
