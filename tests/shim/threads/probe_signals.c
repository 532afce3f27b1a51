// Thread probe: signals and threads. A dedicated thread sigwait()s for
// SIGUSR1, blocked in every thread (sent to the process with kill and with
// sigqueue, and to the thread with pthread_kill and pthread_sigqueue);
// sigtimedwait times out with EAGAIN; each thread's signal mask is its own
// (and a new thread inherits its creator's); a signal sent to a thread that
// blocks it stays pending for that thread only; a handler runs in the thread
// pthread_kill named; a handler without SA_RESTART interrupts a thread's
// sem_wait and sem_timedwait (EINTR), one with SA_RESTART does not.
#include "probe_threads.h"

#include <semaphore.h>

static sigset_t set_of(int a, int b, int c) {
    sigset_t s;
    sigemptyset(&s);
    if (a) sigaddset(&s, a);
    if (b) sigaddset(&s, b);
    if (c) sigaddset(&s, c);
    return s;
}

static const char* sig_name(int sig) {
    if (sig == SIGUSR1) return "SIGUSR1";
    if (sig == SIGUSR2) return "SIGUSR2";
    if (sig == SIGHUP) return "SIGHUP";
    if (sig < 0) return en(errno);
    return "other";
}

// ---------------------------------------------------------------------------
// sigwait in a dedicated thread.

struct waiter {
    sem_t ready;
    int got[4];
    int value;
    int code;
    int pending_usr2_here, pending_usr2_main;
    sem_t check_pending, checked;
};

static void* signal_thread(void* p) {
    struct waiter* w = p;
    sigset_t usr1 = set_of(SIGUSR1, 0, 0), usr2 = set_of(SIGUSR2, 0, 0);
    sem_post(&w->ready);
    sigwait(&usr1, &w->got[0]);  // kill(getpid(), SIGUSR1)
    sem_post(&w->ready);
    siginfo_t info;
    w->got[1] = sigwaitinfo(&usr1, &info);  // sigqueue(getpid(), SIGUSR1, 42)
    w->value = info.si_value.sival_int;
    w->code = info.si_code;
    sem_post(&w->ready);
    sem_wait(&w->check_pending);  // main did pthread_kill(this thread, SIGUSR2)
    sigset_t pending;
    sigpending(&pending);
    w->pending_usr2_here = sigismember(&pending, SIGUSR2);
    sem_post(&w->checked);
    sigwait(&usr2, &w->got[2]);
    sem_post(&w->ready);
    w->got[3] = sigwaitinfo(&usr2, &info);  // pthread_sigqueue(this thread, SIGUSR2, 7)
    if (w->got[3] == SIGUSR2) w->value += info.si_value.sival_int;
    return NULL;
}

static void sigwaits(void) {
    printf("-- sigwait in a dedicated thread\n");
    struct waiter w;
    memset(&w, 0, sizeof w);
    sem_init(&w.ready, 0, 0);
    sem_init(&w.check_pending, 0, 0);
    sem_init(&w.checked, 0, 0);
    pthread_t t = spawn(signal_thread, &w);
    sem_wait(&w.ready);
    sleep_ms(10);
    kill(getpid(), SIGUSR1);
    sem_wait(&w.ready);
    check_str("  kill(getpid(), SIGUSR1): sigwait got", sig_name(w.got[0]), "SIGUSR1");
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 42});
    sem_wait(&w.ready);
    check_str("  sigqueue(getpid(), SIGUSR1, 42): sigwaitinfo got", sig_name(w.got[1]), "SIGUSR1");
    check_int("  its si_value", w.value, 42);
    check_yes("  its si_code is SI_QUEUE", w.code == SI_QUEUE);
    check_err("  pthread_kill(thread, SIGUSR2)", pthread_kill(t, SIGUSR2), 0);
    sem_post(&w.check_pending);
    sem_wait(&w.checked);
    sigset_t pending;
    sigpending(&pending);
    check_yes("  pending for that thread", w.pending_usr2_here);
    check_str("  pending for main", sigismember(&pending, SIGUSR2) ? "yes" : "no", "no");
    sem_wait(&w.ready);
    check_str("  sigwait in that thread got", sig_name(w.got[2]), "SIGUSR2");
    check_err("  pthread_sigqueue(thread, SIGUSR2, 7)", pthread_sigqueue(t, SIGUSR2, (union sigval){.sival_int = 7}),
              0);
    join(t);
    check_str("  sigwaitinfo in that thread got", sig_name(w.got[3]), "SIGUSR2");
    check_int("  si_values seen, 42 + 7", w.value, 49);
}

static void* timed_waiter(void* p) {
    (void)p;
    sigset_t usr1 = set_of(SIGUSR1, 0, 0);
    const struct timespec ts = {0, 100000000};
    const double t0 = now();
    const int rc = sigtimedwait(&usr1, NULL, &ts);
    printf("  sigtimedwait 100 ms in a thread: %d %s\n", rc, rc < 0 ? en(errno) : "");
    check_took("  it waited 100 ms", now() - t0, 0.1);
    return (void*)(long)(rc < 0 && errno == EAGAIN);
}

// ---------------------------------------------------------------------------
// Masks per thread.

struct masks {
    sem_t a_set, b_set;
    int a_ok, b_ok, child_ok;
};

static int mask_is(int a, int b, int c) {
    sigset_t now_mask;
    pthread_sigmask(SIG_BLOCK, NULL, &now_mask);
    const int want[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGINT, SIGTERM, SIGQUIT};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i) {
        const int s = want[i];
        const int expected = s == a || s == b || s == c;
        if (sigismember(&now_mask, s) != expected) return 0;
    }
    return 1;
}

static void* inherits(void* p) {
    (void)p;
    return (void*)(long)mask_is(SIGUSR1, SIGUSR2, SIGHUP);
}

static void* mask_a(void* p) {
    struct masks* m = p;
    sigset_t s = set_of(SIGUSR1, SIGUSR2, SIGHUP);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    sem_post(&m->a_set);
    sem_wait(&m->b_set);  // b sets its own meanwhile
    sleep_ms(5);
    m->a_ok = mask_is(SIGUSR1, SIGUSR2, SIGHUP);
    m->child_ok = (int)(long)join(spawn(inherits, NULL));
    return NULL;
}

static void* mask_b(void* p) {
    struct masks* m = p;
    sem_wait(&m->a_set);
    sigset_t s = set_of(SIGUSR1, SIGUSR2, SIGINT);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    sigset_t unblock = set_of(SIGUSR2, 0, 0);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    sem_post(&m->b_set);
    sleep_ms(10);
    m->b_ok = mask_is(SIGUSR1, SIGINT, 0);
    return NULL;
}

static void per_thread_masks(void) {
    printf("-- masks per thread\n");
    struct masks m;
    memset(&m, 0, sizeof m);
    sem_init(&m.a_set, 0, 0);
    sem_init(&m.b_set, 0, 0);
    pthread_t a = spawn(mask_a, &m), b = spawn(mask_b, &m);
    join(a);
    join(b);
    check_yes("  thread a reads back its mask (USR1 USR2 HUP)", m.a_ok);
    check_yes("  thread b reads back its mask (USR1 INT)", m.b_ok);
    check_yes("  a thread created by a inherits a's mask", m.child_ok);
    check_yes("  main's mask is still USR1 USR2", mask_is(SIGUSR1, SIGUSR2, 0));
}

// ---------------------------------------------------------------------------
// A handler runs in the thread pthread_kill names.

static volatile sig_atomic_t s_handled;
static pthread_t s_handler_thread;

static void on_hup(int sig) {
    (void)sig;
    s_handler_thread = pthread_self();
    s_handled = 1;
}

struct target {
    sem_t ready;
    int handled;
};

static void* hup_target(void* p) {
    struct target* t = p;
    sigset_t hup = set_of(SIGHUP, 0, 0);
    pthread_sigmask(SIG_UNBLOCK, &hup, NULL);
    sem_post(&t->ready);
    for (int i = 0; i < 2000 && !s_handled; ++i) sleep_ms(1);
    t->handled = s_handled;
    return NULL;
}

static void* bystander(void* p) {
    sem_t* stop = p;
    sem_wait(stop);
    return NULL;
}

static void handler_thread(void) {
    printf("-- handler in the target thread\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    struct target t;
    memset(&t, 0, sizeof t);
    sem_init(&t.ready, 0, 0);
    sem_t stop;
    sem_init(&stop, 0, 0);
    pthread_t others[2] = {spawn(bystander, &stop), spawn(bystander, &stop)};
    pthread_t target = spawn(hup_target, &t);
    sem_wait(&t.ready);
    check_err("  pthread_kill(target, SIGHUP)", pthread_kill(target, SIGHUP), 0);
    join(target);
    check_yes("  the handler ran", t.handled);
    check_yes("  in the target thread", pthread_equal(s_handler_thread, target));
    sem_post(&stop);
    sem_post(&stop);
    join(others[0]);
    join(others[1]);
}

// ---------------------------------------------------------------------------
// A semaphore wait and a handler: EINTR unless the handler has SA_RESTART
// (signal(7)); CPython's lock waits rely on it to run a Ctrl-C's handler.

static void on_usr2(int sig) { (void)sig; }

struct sem_waiter {
    sem_t ready, sem;
    int timed;
    int rc, error;
};

static void* sem_waiter(void* p) {
    struct sem_waiter* w = p;
    sigset_t usr2 = set_of(SIGUSR2, 0, 0);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    sem_post(&w->ready);
    if (w->timed) {
        const struct timespec until = deadline(CLOCK_REALTIME, 5);
        w->rc = sem_timedwait(&w->sem, &until);
    } else {
        w->rc = sem_wait(&w->sem);
    }
    w->error = w->rc == 0 ? 0 : errno;
    return NULL;
}

// The waiter's result when SIGUSR2 (whose handler has `flags`) reaches it
// while it waits, and then a post.
static int sem_wait_with_signal(int flags, int timed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = flags;
    sigaction(SIGUSR2, &sa, NULL);
    struct sem_waiter w;
    memset(&w, 0, sizeof w);
    w.timed = timed;
    sem_init(&w.ready, 0, 0);
    sem_init(&w.sem, 0, 0);
    pthread_t t = spawn(sem_waiter, &w);
    sem_wait(&w.ready);
    sleep_ms(50);  // it waits in sem_wait by now
    pthread_kill(t, SIGUSR2);
    sleep_ms(50);
    sem_post(&w.sem);
    join(t);
    return w.error;
}

static void sem_waits_and_signals(void) {
    printf("-- sem_wait and a handler\n");
    check_err("  sem_wait, handler without SA_RESTART", sem_wait_with_signal(0, 0), EINTR);
    check_err("  sem_timedwait, handler without SA_RESTART", sem_wait_with_signal(0, 1), EINTR);
    check_err("  sem_wait, handler with SA_RESTART", sem_wait_with_signal(SA_RESTART, 0), 0);
}

int main(void) {
    watchdog(30);
    // Blocked in main before any thread exists: blocked in all of them (and nothing else).
    sigset_t blocked = set_of(SIGUSR1, SIGUSR2, SIGHUP);
    pthread_sigmask(SIG_SETMASK, &blocked, NULL);
    sigwaits();
    check_yes("sigtimedwait: EAGAIN", (long)join(spawn(timed_waiter, NULL)) == 1);
    sigset_t hup = set_of(SIGHUP, 0, 0);
    pthread_sigmask(SIG_UNBLOCK, &hup, NULL);
    per_thread_masks();
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    handler_thread();
    sem_waits_and_signals();
    return finish();
}
