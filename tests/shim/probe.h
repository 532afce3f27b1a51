// What the C probes share: errno names, a clock, waits of about the right
// length, fatal errors, and reaping helper children.
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static inline const char* en(int e) {
    const char* name = strerrorname_np(e);
    return name ? name : "?";
}

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Whether a wait of `took` seconds is one of about `want` seconds.
static inline int about(double took, double want) { return took >= want * 0.75 && took < want + 3.0; }

static inline void die(const char* what) {
    printf("FATAL %s: %s\n", what, en(errno));
    exit(1);
}

static inline void on_alarm(int sig) { (void)sig; }

static inline void reap(pid_t pid) { waitpid(pid, NULL, 0); }
