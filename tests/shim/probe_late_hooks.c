// When greenrun's preload stub loads green's hooks: not for a program that
// needs none of them, at its first name lookup otherwise. A signal handler
// installed before then is taken over when they load (the kernel runs green's
// trampoline, which runs the handler) and still reported and run as the
// program's own. Prints one line per fact; tests/shim/transparency_test.cpp
// compares them.
#define _GNU_SOURCE
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { handled += sig == SIGUSR1; }

static int hooks_mapped(void) {
    FILE* maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps)) found |= strstr(line, "libgreen_hooks") != NULL;
    if (maps) fclose(maps);
    return found;
}

// The handler the kernel runs, asked past libc and green.
static int kernel_runs_handler_itself(void) {
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } k;
    return syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, sizeof k.mask) == 0 && k.handler == on_usr1;
}

int main(void) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_usr1;
    sigaction(SIGUSR1, &act, NULL);
    printf("before the lookup: hooks %d, kernel runs the handler itself %d\n", hooks_mapped(),
           kernel_runs_handler_itself());
    struct addrinfo* found = NULL;
    const int r = getaddrinfo("localhost", NULL, NULL, &found);
    if (r == 0) freeaddrinfo(found);
    printf("getaddrinfo(localhost) = %d\n", r);
    printf("after the lookup: hooks %d, kernel runs the handler itself %d\n", hooks_mapped(),
           kernel_runs_handler_itself());
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    raise(SIGUSR1);
    printf("sigaction reports the handler %d, raise ran it %d\n", now.sa_handler == on_usr1, (int)handled);
    return 0;
}
