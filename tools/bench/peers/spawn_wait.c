/* The plain C peers of green::run({"true"}): posix_spawnp + waitpid of `true`,
 * N times, in one thread. With "capture", each child's stdout and stderr go to
 * pipes that are read (poll) until both reach EOF before the waitpid, the work
 * run() does by default.
 * Prints "RESULT c_spawn_wait_ns <ns per child> ns" (or c_spawn_capture_ns).
 * Usage: spawn_wait [N [capture]]   (default 2000) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static char* child_argv[] = {"true", NULL};

/* Starts `true` with both outputs on new pipes and reads them to EOF. */
static int spawn_captured(pid_t* pid) {
    int out[2], err[2];
    posix_spawn_file_actions_t fa;
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 || posix_spawn_file_actions_adddup2(&fa, err[1], 2) != 0 ||
        posix_spawnp(pid, "true", &fa, NULL, child_argv, environ) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    char buf[4096];
    for (int open_pipes = 2; open_pipes > 0;) {
        if (poll(p, 2, -1) < 0) return -1;
        for (int k = 0; k < 2; ++k)
            if (p[k].fd >= 0 && p[k].revents && read(p[k].fd, buf, sizeof buf) <= 0) {
                close(p[k].fd);
                p[k].fd = -1;
                --open_pipes;
            }
    }
    return 0;
}

int main(int argc, char** argv) {
    const long n = argc > 1 ? atol(argv[1]) : 2000;
    const int capture = argc > 2 && strcmp(argv[2], "capture") == 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        pid_t pid;
        int status;
        if ((capture ? spawn_captured(&pid) : posix_spawnp(&pid, "true", NULL, NULL, child_argv, environ)) != 0 ||
            waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_wait: child %ld failed\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("RESULT %s %.0f ns\n", capture ? "c_spawn_capture_ns" : "c_spawn_wait_ns", ns / (double)n);
    return 0;
}
