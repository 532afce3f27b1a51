// System V's signal idiom under a storm of signals: the handler installs
// itself again with signal(), while the main code calls signal() in a loop,
// so handlers keep arriving in the middle of the program's own signal().
//
//   probe_sysv_signal SECONDS
//
// A child sends SIGUSR1 to the parent as fast as it can for SECONDS; prints
// "done" and whether handlers ran, exits 0. SIGALRM (default action) ends a
// run that hangs after 5 s more.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void handler(int sig) {
    signal(sig, handler);
    handled = handled + 1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    alarm((unsigned)seconds + 5);
    signal(SIGUSR1, handler);
    const pid_t parent = getpid();
    const pid_t child = fork();
    if (child == 0) {
        const double end = now() + seconds;
        while (now() < end) kill(parent, SIGUSR1);
        _exit(0);
    }
    long installs = 0;
    while (waitpid(child, NULL, WNOHANG) == 0) {
        signal(SIGUSR1, handler);
        ++installs;
    }
    signal(SIGUSR1, SIG_IGN);
    printf("done: handlers ran: %s, installs: %s\n", handled > 0 ? "yes" : "no", installs > 0 ? "yes" : "no");
    return 0;
}
