// Thread probe: vfork while another thread waits, the way CPython's subprocess
// starts a program. The parent blocks every signal around vfork; the child,
// which runs in the parent's memory until it execs, sets the mask it wants,
// resets a handler to SIG_DFL, installs another handler for a second signal,
// closes every descriptor above 2 with close_range and execs. Meanwhile a thread waits in read() on a pipe.
// Afterwards the parent's mask is back as it was, in the kernel too (signals
// reach it: a handler runs), and the waiting thread reads its byte: what the
// child did to itself did nothing to the parent.
#include "probe_threads.h"

#include <sys/wait.h>

static int s_pipe[2];
static volatile sig_atomic_t s_handled;

static void on_usr1(int sig) {
    (void)sig;
    s_handled = 1;
}

static volatile sig_atomic_t s_parents_usr2, s_childs_usr2;
static void parents_usr2(int sig) {
    (void)sig;
    s_parents_usr2 = 1;
}
static void childs_usr2(int sig) {
    (void)sig;
    s_childs_usr2 = 1;
}

static void* reader(void* p) {
    (void)p;
    char c = 0;
    const ssize_t n = read(s_pipe[0], &c, 1);
    return (void*)(n == 1 && c == 'x' ? 0L : n < 0 ? (long)errno : -1L);
}

// The signals this OS thread blocks, as the kernel says (the carrier's, for a
// green thread): SigBlk of /proc/thread-self/status.
static unsigned long long kernel_blocked(void) {
    FILE* f = fopen("/proc/thread-self/status", "r");
    if (!f) return ~0ULL;
    char line[256];
    unsigned long long mask = ~0ULL;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "SigBlk: %llx", &mask) == 1) break;
    fclose(f);
    return mask;
}

static pid_t start_true(const sigset_t* child_mask) {
    const pid_t pid = vfork();
    if (pid == 0) {
        pthread_sigmask(SIG_SETMASK, child_mask, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigaction(SIGUSR1, &dfl, NULL);
        signal(SIGUSR2, childs_usr2);
        close_range(3, ~0U, 0);
        execl("/bin/true", "true", (char*)NULL);
        _exit(127);
    }
    return pid;
}

int main(void) {
    watchdog(20);
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, parents_usr2);
    must(pipe(s_pipe), "pipe");
    const pthread_t t = spawn(reader, NULL);
    sleep_ms(50);  // the reader waits in read()

    sigset_t all, old;
    sigfillset(&all);
    must(pthread_sigmask(SIG_BLOCK, &all, &old), "pthread_sigmask");
    const pid_t pid = start_true(&old);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    check_yes("vfork", pid > 0);
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    check_int("the child's exit status", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);

    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    check_yes("the mask lets SIGUSR1 through", !sigismember(&now, SIGUSR1));
    check_yes("the kernel blocks no signal for this thread", kernel_blocked() == 0);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 100 && !s_handled; ++i) sleep_ms(10);
    check_yes("a SIGUSR1 sent to the process ran its handler", s_handled);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 100 && !s_parents_usr2 && !s_childs_usr2; ++i) sleep_ms(10);
    check_yes("SIGUSR2 ran the parent's handler, not the one the child installed", s_parents_usr2 && !s_childs_usr2);

    must(write(s_pipe[1], "x", 1) == 1 ? 0 : -1, "write");
    check_err("the waiting thread's read", (int)(long)join(t), 0);
    return finish();
}
