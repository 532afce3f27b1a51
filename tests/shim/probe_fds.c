// A program that uses descriptor numbers it never opened, as daemons and shells
// do, after name lookups (which give green's runtime its descriptors):
//
//   probe_fds NAME [busy|fork]
//
// resolves NAME, dup2s /dev/null onto every number from 3 to 1023 (or the
// limit) and closes them again, resolves NAME again, then lists the
// descriptors a child sees after exec (ls /proc/self/fd). With `busy` a second
// thread makes both lookups and spins, busy with its own work, while the main
// thread dup2s (the thread's hub never comes back to its loop meanwhile). With
// `fork` the main thread resolves, forks, and in the child resolves, spins
// while a second thread dup2s, and resolves again (the child's hub has an
// epoll set of its own by then). Prints what happened; exits 0.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dup2_every.h"
#include "print_lookup.h"

static atomic_int phase;

static void* look_up_around_dup2s(void* name) {
    print_lookup(name);
    fflush(stdout);
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2) {
    }
    print_lookup(name);
    return NULL;
}

static void* dup2_onto_every_number_then_go_on(void* unused) {
    (void)unused;
    dup2_onto_every_number();
    fflush(stdout);
    atomic_store(&phase, 2);
    return NULL;
}

// The child of `fork`: a lookup, dup2s from another thread while this one is
// busy, a lookup.
static void look_up_in_a_child(const char* name) {
    fflush(stdout);
    const pid_t child = fork();
    if (child != 0) {
        int status = 0;
        waitpid(child, &status, 0);
        printf("forked child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return;
    }
    print_lookup(name);
    fflush(stdout);
    pthread_t other;
    if (pthread_create(&other, NULL, dup2_onto_every_number_then_go_on, NULL) != 0) _exit(1);
    while (atomic_load(&phase) != 2) {
    }
    pthread_join(other, NULL);
    print_lookup(name);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "busy") != 0 && strcmp(argv[2], "fork") != 0)) return 2;
    if (argc == 3 && strcmp(argv[2], "fork") == 0) {
        print_lookup(argv[1]);
        look_up_in_a_child(argv[1]);
    } else if (argc == 3) {
        pthread_t looker;
        if (pthread_create(&looker, NULL, look_up_around_dup2s, argv[1]) != 0) return 1;
        while (atomic_load(&phase) != 1) usleep(1000);
        dup2_onto_every_number();
        fflush(stdout);
        atomic_store(&phase, 2);
        pthread_join(looker, NULL);
    } else {
        print_lookup(argv[1]);
        dup2_onto_every_number();
        print_lookup(argv[1]);
    }
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        execl("/bin/ls", "ls", "/proc/self/fd", (char*)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
