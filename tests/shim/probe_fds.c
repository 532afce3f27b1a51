// A program that uses descriptor numbers it never opened, as daemons and shells
// do, after name lookups (which give green's runtime its descriptors):
//
//   probe_fds NAME
//
// resolves NAME, dup2s /dev/null onto every number from 3 to 1023 (or the
// limit) and closes them again, resolves NAME again, then lists the
// descriptors a child sees after exec (ls /proc/self/fd). Prints what
// happened; exits 0.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dup2_every.h"
#include "print_lookup.h"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    print_lookup(argv[1]);
    dup2_onto_every_number();
    print_lookup(argv[1]);
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
