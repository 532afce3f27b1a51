/* A legacy blocking client: resolves the host with getaddrinfo, connects,
 * sets a receive timeout, and for each message sends a line and prints the
 * server's answer. Nothing green in it.
 *
 *   legacy_client HOST PORT MESSAGE...
 *
 * Exit status 0 when every message was answered, 1 otherwise. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int connect_to(const char* host, const char* port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list;
    const int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "legacy_client: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo* ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            perror("legacy_client: connect");
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: legacy_client HOST PORT MESSAGE...\n");
        return 2;
    }
    const int fd = connect_to(argv[1], argv[2]);
    if (fd < 0) return 1;
    const struct timeval five_seconds = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    for (int i = 3; i < argc; ++i) {
        char line[1024];
        const int len = snprintf(line, sizeof line, "%s\n", argv[i]);
        if (len >= (int)sizeof line || send(fd, line, (size_t)len, 0) != len) {
            fprintf(stderr, "legacy_client: cannot send '%s'\n", argv[i]);
            return 1;
        }
        int got = 0;
        while (got < len) { /* the answer is as long as the question */
            const ssize_t n = recv(fd, line + got, (size_t)(len - got), 0);
            if (n == 0) {
                fprintf(stderr, "legacy_client: the server hung up\n");
                return 1;
            }
            if (n < 0) {
                perror("legacy_client: recv"); /* EAGAIN: no answer within five seconds */
                return 1;
            }
            got += (int)n;
        }
        fwrite(line, 1, (size_t)got, stdout);
    }
    close(fd);
    return 0;
}
