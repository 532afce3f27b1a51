/* The plain C peer of green::run({"true"}): posix_spawnp + waitpid of `true`,
 * N times, in one thread. Prints "RESULT c_spawn_wait_ns <ns per child> ns".
 * Usage: spawn_wait [N]   (default 2000) */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

int main(int argc, char** argv) {
    const long n = argc > 1 ? atol(argv[1]) : 2000;
    char* child_argv[] = {"true", NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        pid_t pid;
        int status;
        if (posix_spawnp(&pid, "true", NULL, NULL, child_argv, environ) != 0 || waitpid(pid, &status, 0) != pid ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_wait: child %ld failed\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("RESULT c_spawn_wait_ns %.0f ns\n", ns / (double)n);
    return 0;
}
