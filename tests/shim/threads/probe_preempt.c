// Thread probe: threads that compute, or spin on a flag, without a single
// call the shim hooks, still let the other threads run, as the kernel's time
// slices make OS threads do. Under greenrun --threads, where they share a
// carrier, this needs the monitor to preempt them (a signal whose handler takes
// the turn): before, a thread spinning until another thread of its carrier set
// a flag kept the carrier for good and the watchdog ended the probe.
//   - one thread spins until another, that sleeps 50 ms first, sets its flag;
//   - two threads hand a token back and forth 20 times, each spinning until
//     it is its turn (redis's I/O threads wait for each other so);
//   - a thread computes for 300 ms while a ticker sleeps 5 ms at a time;
//   - errno, set before a long computation, is still there after it, while
//     another thread's calls fail meanwhile.
//   - 20 children each compute 25-35 ms beside an idle thread, then exec: none
//     dies of a preemption that comes as it execs (with a real-time signal,
//     whose default action ends a process, 1 in 40 did);
//   - a vfork child that sets SIGURG's disposition changes neither its
//     parent's nor the parent's preemption (the child shares its memory);
//   - SIGURG stays the program's: sigaction reports its default, a handler
//     the program installs gets a raised SIGURG once (preemption then stops).
// "spin" alone runs the first (for the test of GREEN_PREEMPT=0, which turns
// preemption off: that run ends by its 3 s watchdog).
#include "probe_threads.h"

#include <fcntl.h>
#include <sys/wait.h>

static int flag;

static void* spin_until_set(void* unused) {
    (void)unused;
    while (!__atomic_load_n(&flag, __ATOMIC_ACQUIRE)) {
    }
    return NULL;
}

static void* set_later(void* unused) {
    (void)unused;
    sleep_ms(50);
    __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void spin_on_a_flag(void) {
    __atomic_store_n(&flag, 0, __ATOMIC_RELAXED);
    pthread_t spinner = spawn(spin_until_set, NULL);
    pthread_t setter = spawn(set_later, NULL);
    join(setter);
    join(spinner);
    check_yes("a thread spinning on a flag another thread sets", __atomic_load_n(&flag, __ATOMIC_RELAXED));
}

enum { kRounds = 20 };
static int token;  // whose turn: 0 or 1

static void* pass_the_token(void* arg) {
    const int me = (int)(long)arg;
    for (int i = 0; i < kRounds; ++i) {
        while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) != me) {
        }
        __atomic_store_n(&token, 1 - me, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void hand_a_token_back_and_forth(void) {
    pthread_t a = spawn(pass_the_token, (void*)0L), b = spawn(pass_the_token, (void*)1L);
    join(a);
    join(b);
    check_int("two threads that spin until it is their turn: the token's end", token, 0);
}

// Computes until `seconds` passed, with no call but the clock's (the vDSO's).
static unsigned long compute(double seconds) {
    volatile unsigned long x = 1;
    const double until = now() + seconds;
    while (now() < until)
        for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

static void* compute_a_while(void* unused) {
    (void)unused;
    compute(0.3);
    return NULL;
}

static void compute_beside_a_ticker(void) {
    pthread_t ticker = counter_start();
    sleep_ms(10);
    const int before = counter_ticks();
    pthread_t worker = spawn(compute_a_while, NULL);
    join(worker);
    const int during = counter_ticks() - before;
    counter_stop(ticker);
    check_yes("a ticker ticks while another thread computes 300 ms", during >= 10);
}

static void* errno_kept(void* unused) {
    (void)unused;
    errno = ERANGE;
    compute(0.1);
    return (void*)(long)errno;
}

static void* calls_that_fail(void* unused) {
    (void)unused;
    const double until = now() + 0.1;
    while (now() < until) {
        if (close(-1) == 0) must(-1, "close(-1)");  // EBADF
        sleep_ms(1);
    }
    return NULL;
}

static void errno_across_preemption(void) {
    pthread_t worker = spawn(errno_kept, NULL), other = spawn(calls_that_fail, NULL);
    const int kept = (int)(long)join(worker);
    join(other);
    check_err("errno across a long computation", kept, ERANGE);
}

static void* idle(void* unused) {
    (void)unused;
    sleep_ms(2000);
    return NULL;
}

static void exec_after_computing(const char* self) {
    int killed = 0;
    for (int i = 0; i < 20; ++i) {
        const pid_t pid = fork();
        if (pid < 0) must(-1, "fork");
        if (pid == 0) {
            spawn(idle, NULL);
            compute(0.025 + (i % 10) * 0.001);
            execl(self, self, "exit", (char*)NULL);
            _exit(99);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) must(-1, "waitpid");
        killed += WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
    }
    check_int("children that exec right after computing, and did not exit 0", killed, 0);
}

static int urgent;

static void on_urg(int sig) {
    (void)sig;
    ++urgent;
}

// A vfork child shares its parent's memory, not its signal dispositions: what
// it does with SIGURG before it exits is its own, and the parent's SIGURG, and
// its preemption, stay as they were.
static void vfork_child_sets_sigurg(void) {
    signal(SIGURG, SIG_IGN);
    const pid_t pid = vfork();
    if (pid < 0) must(-1, "vfork");
    if (pid == 0) {
        signal(SIGURG, SIG_DFL);
        signal(SIGURG, on_urg);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) must(-1, "waitpid");
    struct sigaction sa;
    must(sigaction(SIGURG, NULL, &sa), "sigaction");
    check_yes("SIGURG after a vfork child set its own: still ignored", sa.sa_handler == SIG_IGN);
    spin_on_a_flag();
    signal(SIGURG, SIG_DFL);
}

static void sigurg_is_the_programs(void) {
    struct sigaction sa;
    must(sigaction(SIGURG, NULL, &sa), "sigaction");
    check_yes("SIGURG's disposition: the default", sa.sa_handler == SIG_DFL);
    signal(SIGURG, SIG_IGN);
    must(sigaction(SIGURG, NULL, &sa), "sigaction");
    check_yes("  then ignored", sa.sa_handler == SIG_IGN);
    raise(SIGURG);
    signal(SIGURG, on_urg);
    must(sigaction(SIGURG, NULL, &sa), "sigaction");
    check_yes("  then the program's handler", sa.sa_handler == on_urg);
    raise(SIGURG);
    check_int("  which a raised SIGURG reaches", urgent, 1);
    signal(SIGURG, SIG_DFL);
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "exit") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "spin") == 0) {
        watchdog(3);
        spin_on_a_flag();
        return finish();
    }
    watchdog(30);
    spin_on_a_flag();
    hand_a_token_back_and_forth();
    compute_beside_a_ticker();
    errno_across_preemption();
    exec_after_computing(argv[0]);
    vfork_child_sets_sigurg();
    sigurg_is_the_programs();
    return finish();
}
