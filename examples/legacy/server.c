/* A legacy blocking server, as many were written: one process per connection
 * (fork), blocking accept, read and write, nothing green in it. Each line a
 * client sends comes back upper-cased.
 *
 *   legacy_server [PORT]      (0 or nothing: any free port; it prints the one it got)
 *
 * See README.md for running it, and legacy_client, under greenrun. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "legacy_server.h"

int main(int argc, char** argv) {
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    const int listener = open_listener("legacy_server", argc, argv);
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
