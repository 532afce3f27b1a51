// Thread probe: a program that dup2s onto every descriptor number it may use,
// as daemons do, while it has threads. Under greenrun the runtime holds some
// of those numbers (each carrier's epoll set and wake-up eventfd, up high): they
// move out of the way and every dup2 succeeds, as without green. Then threads
// still block and wake each other (a pipe, a condition variable, a sleep), which
// needs the loops whose descriptors moved, and a forked child does too. With a
// NAME argument, the resolver's sockets give their numbers up as well.
#include "probe_threads.h"

#include <sys/wait.h>

#include "../dup2_every.h"
#include "../print_lookup.h"

static void* nothing(void* unused) { return unused; }

struct relay {
    int in, out;
};

// Reads a byte and writes it on, ten times: each read blocks first.
static void* relay_bytes(void* p) {
    const struct relay* r = p;
    for (int i = 0; i < 10; ++i) {
        char c;
        if (read(r->in, &c, 1) != 1) must(-1, "relay read");
        if (write(r->out, &c, 1) != 1) must(-1, "relay write");
    }
    return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;

static void* wait_for_turn(void* unused) {
    pthread_mutex_lock(&lock);
    while (turn == 0) pthread_cond_wait(&changed, &lock);
    turn = 2;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
    return unused;
}

// Threads that block on a pipe, a condition variable and a sleep.
static void threads_still_wait_and_wake(const char* where) {
    int a[2], b[2];
    must(pipe(a), "pipe");
    must(pipe(b), "pipe");
    struct relay r = {a[0], b[1]};
    pthread_t relayer = spawn(relay_bytes, &r);
    int echoed = 0;
    for (int i = 0; i < 10; ++i) {
        char c = (char)('a' + i), back = 0;
        sleep_ms(2);
        if (write(a[1], &c, 1) == 1 && read(b[0], &back, 1) == 1 && back == c) ++echoed;
    }
    join(relayer);
    char what[96];
    snprintf(what, sizeof what, "%s: bytes relayed by a thread that blocks on a pipe", where);
    check_int(what, echoed, 10);
    turn = 0;
    pthread_t waiter = spawn(wait_for_turn, NULL);
    sleep_ms(10);
    pthread_mutex_lock(&lock);
    turn = 1;
    pthread_cond_signal(&changed);
    while (turn != 2) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    join(waiter);
    snprintf(what, sizeof what, "%s: a condition variable hands over between threads", where);
    check_yes(what, 1);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

// With NAME: a thread resolves it while the dup2s happen, and another after
// (under greenrun with GREEN_DNS=ares and a first server that never answers,
// the resolver's socket waits meanwhile, and the dup2s take its number).
static void* resolve(void* name) {
    print_lookup(name);
    return NULL;
}

int main(int argc, char** argv) {
    watchdog(30);
    join(spawn(nothing, NULL));  // under --threads, the hubs exist from here on
    pthread_t resolver = 0;
    if (argc > 1) {  // the dup2s come while the lookup waits for its first server
        resolver = spawn(resolve, argv[1]);
        sleep_ms(300);
    }
    dup2_onto_every_number();
    if (argc > 1) {
        join(resolver);
        join(spawn(resolve, argv[1]));
    }
    threads_still_wait_and_wake("after the dup2s");
    fflush(stdout);
    const pid_t child = fork();
    if (child < 0) must(-1, "fork");
    if (child == 0) {
        watchdog(30);
        threads_still_wait_and_wake("in a forked child");
        _exit(finish());
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) must(-1, "waitpid");
    check_yes("the forked child finished", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return finish();
}
