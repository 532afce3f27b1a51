/* The plain C peer of green::run({"true"}) that does the same work: posix_spawnp
 * of `true` with its stdout and stderr each captured through a pipe (poll
 * until both reach EOF), then waitpid; N times, in one thread. Prints
 * "RESULT c_spawn_capture_ns <ns per child> ns".
 * Usage: spawn_capture [N]   (default 2000) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
    const long n = argc > 1 ? atol(argv[1]) : 2000;
    char* child_argv[] = {"true", NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        int out[2], err[2];
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status;
        if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || posix_spawn_file_actions_init(&fa) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 || posix_spawn_file_actions_adddup2(&fa, err[1], 2) != 0 ||
            posix_spawnp(&pid, "true", &fa, NULL, child_argv, environ) != 0) {
            perror("spawn_capture");
            return 1;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(out[1]);
        close(err[1]);
        struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        char buf[4096];
        for (int open_pipes = 2; open_pipes > 0;) {
            if (poll(p, 2, -1) < 0) { perror("poll"); return 1; }
            for (int k = 0; k < 2; ++k)
                if (p[k].fd >= 0 && p[k].revents && read(p[k].fd, buf, sizeof buf) <= 0) {
                    close(p[k].fd);
                    p[k].fd = -1;
                    --open_pipes;
                }
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_capture: child %ld failed\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("RESULT c_spawn_capture_ns %.0f ns\n", ns / (double)n);
    return 0;
}
