/* usage: idle_load PORT [N=10000 connections]
 * Opens N TCP connections to 127.0.0.1:PORT (non-blocking connects, at most
 * 512 in flight), sends one byte "x" on each, prints
 *   RESULT idle_conns_open <n> conns
 * and holds them open until stdin reaches EOF (when stdin is a pipe, socket
 * or terminal) or SIGTERM/SIGINT arrives. Exits 1 if not all N connected.
 * Build: gcc -O2 idle_load.c -o idle_load
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define INFLIGHT 512 /* bounded so the server's accept backlog never overflows */

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: idle_load PORT [N=10000]\n"); return 2; }
    int port = atoi(argv[1]);
    int n = argc > 2 ? atoi(argv[2]) : 10000;

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)n + 16 > rl.rlim_cur)
        fprintf(stderr, "warning: RLIMIT_NOFILE %lu is too low for %d\n", (unsigned long)rl.rlim_cur, n);

    int ep = epoll_create1(0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int started = 0, inflight = 0, open = 0, failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (open + failed < n) {
        for (; started < n && inflight < INFLIGHT; started++, inflight++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fd < 0) { perror("socket"); return 1; }
            if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
                perror("connect");
                close(fd);
                failed++;
                inflight--;
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT, .data.fd = fd};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        struct epoll_event evs[INFLIGHT];
        int k = epoll_wait(ep, evs, INFLIGHT, 10000);
        if (k == 0) { fprintf(stderr, "connects stalled\n"); break; }
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd, err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            /* Done with this one: drop it from epoll, but keep the fd open. */
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
            inflight--;
            if (err || write(fd, "x", 1) != 1) {
                failed++;
                close(fd);
            } else {
                open++;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "%d open, %d failed in %.2f s\n", open, failed,
            (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    printf("RESULT idle_conns_open %d conns\n", open);
    fflush(stdout);

    /* sigaction without SA_RESTART so a signal interrupts read()/pause(). */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct stat st;
    fstat(0, &st);
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(0)) {
        char c;
        while (read(0, &c, 1) > 0) {} /* until EOF, error or signal */
    } else {
        pause(); /* stdin is /dev/null or a file: EOF would come at once */
    }
    fprintf(stderr, "closing %d connections\n", open);
    return open == n ? 0 : 1;
}
