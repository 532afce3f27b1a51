/* What both legacy servers share: a listener on 127.0.0.1, and what they do
 * with a connection (each line the client sends comes back upper-cased, until
 * the client hangs up). Blocking calls only, nothing green. */
#pragma once

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void serve_lines(int fd) {
    char line[1024];
    size_t used = 0;
    for (;;) {
        const ssize_t n = read(fd, line + used, sizeof line - used);
        if (n <= 0) return;
        used += (size_t)n;
        char* end;
        while ((end = memchr(line, '\n', used)) != NULL) {
            const size_t len = (size_t)(end - line) + 1;
            for (size_t i = 0; i < len; ++i) line[i] = (char)toupper((unsigned char)line[i]);
            if (write(fd, line, len) != (ssize_t)len) return;
            memmove(line, line + len, used - len);
            used -= len;
        }
        if (used == sizeof line) return; /* a line too long for us: hang up */
    }
}

/* A listening socket on 127.0.0.1:PORT (argv[1]; 0 or none: any free port).
 * Prints "NAME: listening on 127.0.0.1:PORT"; exits with a message on failure. */
static int open_listener(const char* name, int argc, char** argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: %s [PORT]\n", name);
        exit(2);
    }
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0 ||
        getsockname(listener, (struct sockaddr*)&addr, &len) != 0) {
        perror(name);
        exit(1);
    }
    printf("%s: listening on 127.0.0.1:%u\n", name, ntohs(addr.sin_port));
    fflush(stdout);
    return listener;
}
