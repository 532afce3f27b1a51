/* A legacy blocking server of the other classic kind: one POSIX thread per
 * connection (detached, default attributes), blocking accept, read and write,
 * nothing green in it. Each line a client sends comes back upper-cased.
 *
 *   legacy_thread_server [PORT]   (0 or nothing: any free port; it prints the one it got)
 *
 * Under `greenrun --threads` its threads are green threads: a thousand
 * connections cost a thousand greenlets on one OS thread, not a thousand OS
 * threads. See README.md. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "legacy_server.h"

static void* connection(void* arg) {
    const int fd = (int)(intptr_t)arg;
    serve_lines(fd);
    close(fd);
    return NULL;
}

int main(int argc, char** argv) {
    const int listener = open_listener("legacy_thread_server", argc, argv);
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
