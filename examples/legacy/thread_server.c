/* A legacy blocking server of the other classic kind: one POSIX thread per
 * connection (detached, default attributes), blocking accept, read and write,
 * nothing green in it. Each line a client sends comes back upper-cased.
 *
 *   legacy_thread_server [PORT]   (0 or nothing: any free port; it prints the one it got)
 *
 * Under `greenrun --threads` its threads are green threads: a thousand
 * connections cost a thousand greenlets on one OS thread, not a thousand OS
 * threads. See README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve_lines.h"

static void* connection(void* arg) {
    const int fd = (int)(intptr_t)arg;
    serve_lines(fd);
    close(fd);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: legacy_thread_server [PORT]\n");
        return 2;
    }
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0 ||
        getsockname(listener, (struct sockaddr*)&addr, &len) != 0) {
        perror("legacy_thread_server");
        return 1;
    }
    printf("legacy_thread_server: listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (;;) {
        const int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == EMFILE || errno == ENFILE) continue;
            perror("accept");
            return 1;
        }
        pthread_t t;
        if (pthread_create(&t, &detached, connection, (void*)(intptr_t)fd) != 0) close(fd);
    }
}
