// For probes: one IPv4 stream lookup, printed as "getaddrinfo(NAME) = RC ADDR...".
#pragma once

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static inline void print_lookup(const char* name) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* list = NULL;
    const int r = getaddrinfo(name, "80", &hints, &list);
    printf("getaddrinfo(%s) = %d", name, r);
    for (struct addrinfo* a = list; a; a = a->ai_next) {
        char host[64];
        getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        printf(" %s", host);
    }
    printf("\n");
    if (list) freeaddrinfo(list);
}
