// For probes: what a daemon does with descriptor numbers it never opened.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// dup2s /dev/null onto every number from 3 up to 1023 (or the limit), prints
// how many failed, and closes them all again.
static inline void dup2_onto_every_number(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = 1024;
    const int last = limit.rlim_cur > 1024 ? 1023 : (int)limit.rlim_cur - 1;
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int failed = 0, first_errno = 0, first_fd = -1;
    for (int fd = 3; fd <= last; ++fd) {
        if (fd == null) continue;
        if (dup2(null, fd) != fd && failed++ == 0) first_errno = errno, first_fd = fd;
    }
    printf("dup2 onto 3..%s: %d failed", last == 1023 ? "1023" : "the limit", failed);
    if (failed) printf(" (first: %d, %s)", first_fd, strerror(first_errno));
    printf("\n");
    for (int fd = 3; fd <= last; ++fd) close(fd);
}
