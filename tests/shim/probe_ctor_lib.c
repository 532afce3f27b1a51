// A shared library whose constructor and destructor make hooked calls (a sleep,
// a lookup of localhost, polls and reads on a pipe): under greenrun they may run
// before the shim is live or after it stopped. probe_ctor.cpp links it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((visibility("default"))) void probe_exercise(const char* who) {
    const int slept = usleep(2000);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    const int rc = getaddrinfo("localhost", "80", &hints, &res);
    char addr[INET_ADDRSTRLEN] = "-";
    if (rc == 0) {
        inet_ntop(AF_INET, &((struct sockaddr_in*)res->ai_addr)->sin_addr, addr, sizeof addr);
        freeaddrinfo(res);
    }
    int p[2];
    int empty = -9, ready = -9, got = -9;
    short revents = 0;
    if (pipe(p) == 0) {
        struct pollfd f = {p[0], POLLIN, 0};
        empty = poll(&f, 1, 20);
        if (write(p[1], "x", 1) == 1) {
            ready = poll(&f, 1, 1000);
            revents = f.revents;
            char c;
            got = (int)read(p[0], &c, 1);
        }
        close(p[0]);
        close(p[1]);
    }
    printf("%s: usleep %d getaddrinfo %d %s poll empty %d ready %d revents %#x read %d\n", who, slept, rc, addr, empty,
           ready, (unsigned)revents, got);
    fflush(stdout);
}

__attribute__((constructor)) static void at_load(void) { probe_exercise("library constructor"); }

__attribute__((destructor)) static void at_unload(void) { probe_exercise("library destructor"); }
