// Thread probe: a program that dup2s onto every descriptor number it may use,
// as daemons do, while it has threads. Under greenrun the runtime holds some
// of those numbers (each carrier's epoll set and wake-up eventfd, up high): they
// move out of the way and every dup2 succeeds, as without green. Then threads
// still block and wake each other (a pipe, a condition variable, a sleep), which
// needs the loops whose descriptors moved, and a forked child does too. With a
// NAME argument, the resolver's sockets give their numbers up as well; with
// "held", so do the pidfd of a thread parked in waitpid and the signalfd of
// one parked in sigwait, whose calls then go on as if nothing happened.
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

// With "held": a thread waits for a child that is killed once the dup2s are
// done, another for SIGUSR1, which it blocks.
static pid_t late_child;
static int child_signal = -1;

static void* wait_for_child(void* unused) {
    int status = 0;
    if (waitpid(late_child, &status, 0) == late_child && WIFSIGNALED(status)) child_signal = WTERMSIG(status);
    return unused;
}

static int signal_taken;

static void* wait_for_signal(void* unused) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (sigwait(&usr1, &signal_taken) != 0) signal_taken = -1;
    return unused;
}

int main(int argc, char** argv) {
    watchdog(30);
    join(spawn(nothing, NULL));  // under --threads, the hubs exist from here on
    const int held = argc > 1 && strcmp(argv[1], "held") == 0;
    const char* name = argc > 1 && !held ? argv[1] : NULL;
    pthread_t resolver = 0, child_waiter = 0, signal_waiter = 0;
    if (held) {
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        must(pthread_sigmask(SIG_BLOCK, &usr1, NULL), "pthread_sigmask");
        late_child = fork();
        if (late_child < 0) must(-1, "fork");
        if (late_child == 0)
            for (;;) pause();
        child_waiter = spawn(wait_for_child, NULL);
        signal_waiter = spawn(wait_for_signal, NULL);
        sleep_ms(300);  // both wait: a pidfd and a signalfd are held
    }
    if (name) {  // the dup2s come while the lookup waits for its first server
        resolver = spawn(resolve, (void*)name);
        sleep_ms(300);
    }
    dup2_onto_every_number();
    if (name) {
        join(resolver);
        join(spawn(resolve, (void*)name));
    }
    if (held) {
        must(kill(late_child, SIGTERM), "kill");
        join(child_waiter);
        check_int("waitpid, parked during the dup2s: the signal that ended the child", child_signal, SIGTERM);
        must(kill(getpid(), SIGUSR1), "kill");
        join(signal_waiter);
        check_int("sigwait, parked during the dup2s: the signal", signal_taken, SIGUSR1);
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
