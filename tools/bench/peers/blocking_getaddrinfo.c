/* usage: blocking_getaddrinfo NAME...        resolve each NAME once
 *        blocking_getaddrinfo NAME COUNT     resolve NAME COUNT times
 * (two arguments whose second is all digits mean NAME COUNT.)
 * Resolves one after another with plain getaddrinfo(AF_UNSPEC, SOCK_STREAM);
 * which DNS server answers is up to the caller's environment.
 * Prints: RESULT blocking_getaddrinfo_total_s <seconds> s
 *         RESULT blocking_getaddrinfo_failed <n> count
 * Build: gcc -O2 blocking_getaddrinfo.c -o blocking_getaddrinfo
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: blocking_getaddrinfo NAME... | NAME COUNT\n"); return 2; }
    int count = argc - 1;
    int repeat = argc == 3 && strspn(argv[2], "0123456789") == strlen(argv[2]);
    if (repeat) count = atoi(argv[2]);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < count; i++) {
        const char *name = repeat ? argv[1] : argv[1 + i];
        struct addrinfo *res;
        int rc = getaddrinfo(name, NULL, &hints, &res);
        if (rc) {
            if (failed++ < 5) fprintf(stderr, "%s: %s\n", name, gai_strerror(rc));
        } else {
            freeaddrinfo(res);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    fprintf(stderr, "%d lookups in %.3f s\n", count, s);
    printf("RESULT blocking_getaddrinfo_total_s %.6f s\n", s);
    printf("RESULT blocking_getaddrinfo_failed %d count\n", failed);
    return 0;
}
