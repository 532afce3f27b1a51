/* A legacy blocking server, as many were written: one process per connection
 * (fork), blocking accept, read and write, nothing green in it. Each line a
 * client sends comes back upper-cased.
 *
 *   legacy_server [PORT]      (0 or nothing: any free port; it prints the one it got)
 *
 * See README.md for running it, and legacy_client, under greenrun. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve_lines.h"

int main(int argc, char** argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: legacy_server [PORT]\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 128) != 0 ||
        getsockname(listener, (struct sockaddr*)&addr, &len) != 0) {
        perror("legacy_server");
        return 1;
    }
    printf("legacy_server: listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        const int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            return 1;
        }
        const pid_t pid = fork();
        if (pid == 0) {
            close(listener);
            serve_lines(fd);
            _exit(0);
        }
        close(fd);
    }
}
