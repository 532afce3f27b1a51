/* usage: blocking_client PORT [N=10000 round trips]
 * Plain blocking TCP client (socket/connect/send/recv, glibc only, no
 * non-blocking tricks) doing N 64-byte request/response round trips against
 * an echo server on 127.0.0.1:PORT. Meant to be run bare and under an
 * LD_PRELOAD shim to measure the shim's overhead.
 * Prints: RESULT blocking_roundtrips_per_sec <round trips / s> rt/s
 * Build: gcc -O2 blocking_client.c -o blocking_client
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MSG 64

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: blocking_client PORT [N=10000]\n"); return 2; }
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }

    char out[MSG], in[MSG];
    memset(out, 'b', MSG);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        for (int sent = 0; sent < MSG;) {
            ssize_t w = send(fd, out + sent, MSG - sent, 0);
            if (w <= 0) { perror("send"); return 1; }
            sent += (int)w;
        }
        for (int got = 0; got < MSG;) { /* the echo may arrive in pieces */
            ssize_t r = recv(fd, in + got, MSG - got, 0);
            if (r <= 0) { fprintf(stderr, "recv: %s\n", r ? "error" : "EOF"); return 1; }
            got += (int)r;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (memcmp(in, out, MSG)) { fprintf(stderr, "echo mismatch\n"); return 1; }
    fprintf(stderr, "%d round trips in %.3f s\n", n, s);
    printf("RESULT blocking_roundtrips_per_sec %.0f rt/s\n", n / s);
    return 0;
}
