// Thread probe: deferred cancellation. A thread blocked at each kind of
// cancellation point (read of a pipe, recv, poll, sleep, nanosleep, pause,
// sem_wait, pthread_join, pthread_cond_wait and timedwait) or looping on
// pthread_testcancel, a zero-timeout poll or a MSG_DONTWAIT recv is
// cancelled: its cleanup handlers run in LIFO order, after a condition wait
// with the mutex held again, and join returns PTHREAD_CANCELED. Disabled cancellation waits until enabled;
// pthread_mutex_lock is no cancellation point; pthread_exit runs the handlers.
#include "probe_threads.h"

#include <poll.h>
#include <semaphore.h>
#include <sys/socket.h>

enum point {
    READ, RECV, POLL, SLEEP, NANOSLEEP, PAUSE, SEM_WAIT, JOIN, COND_WAIT, COND_TIMEDWAIT, TESTCANCEL,
    POLL_AT_ONCE, RECV_DONTWAIT, POINTS
};
static const char* const kPointNames[] = {"read of a pipe", "recv", "poll", "sleep", "nanosleep", "pause",
                                          "sem_wait", "pthread_join", "pthread_cond_wait",
                                          "pthread_cond_timedwait", "pthread_testcancel loop",
                                          "zero-timeout poll loop", "MSG_DONTWAIT recv loop"};

struct victim {
    enum point point;
    sem_t ready;
    char order[8];
    int n;
    int passed;             // got past the blocking call
    int handler_had_mutex;  // the mutex was held when the handler ran
    int fds[2];
    int sock[2];
    sem_t never;
    pthread_t joined;
    pthread_mutex_t m;
    pthread_cond_t c;
};

static void record(struct victim* v, char c) {
    if (v->n < (int)sizeof v->order - 1) v->order[v->n++] = c;
}

static void handler_a(void* p) { record(p, 'A'); }
static void handler_b(void* p) { record(p, 'B'); }

static void unlock_handler(void* p) {
    struct victim* v = p;
    record(v, 'U');
    v->handler_had_mutex = pthread_mutex_unlock(&v->m) == 0;  // errorcheck: 0 only for the owner
}

static void* blocked_forever(void* p) {
    sem_wait(p);
    return (void*)5L;
}

static void* victim_main(void* p) {
    struct victim* v = p;
    char buf[4];
    pthread_cleanup_push(handler_a, v);
    pthread_cleanup_push(handler_b, v);
    if (v->point == COND_WAIT || v->point == COND_TIMEDWAIT) must(pthread_mutex_lock(&v->m), "lock");
    pthread_cleanup_push(unlock_handler, v);
    if (v->point != COND_WAIT && v->point != COND_TIMEDWAIT) pthread_mutex_lock(&v->m);  // held: handler unlocks
    sem_post(&v->ready);
    switch (v->point) {
    case READ: (void)!read(v->fds[0], buf, 1); break;
    case RECV: recv(v->sock[0], buf, 1, 0); break;
    case POLL: {
        struct pollfd pfd = {v->fds[0], POLLIN, 0};
        poll(&pfd, 1, -1);
        break;
    }
    case SLEEP: sleep(100); break;
    case NANOSLEEP: {
        struct timespec ts = {100, 0};
        nanosleep(&ts, NULL);
        break;
    }
    case PAUSE: pause(); break;
    case SEM_WAIT: sem_wait(&v->never); break;
    case JOIN: pthread_join(v->joined, NULL); break;
    case COND_WAIT:
        for (;;) pthread_cond_wait(&v->c, &v->m);
        break;
    case COND_TIMEDWAIT:
        for (;;) {
            const struct timespec ts = deadline(CLOCK_REALTIME, 100);
            pthread_cond_timedwait(&v->c, &v->m, &ts);
        }
        break;
    case TESTCANCEL:
        for (;;) {
            pthread_testcancel();
            sched_yield();
        }
        break;
    case POLL_AT_ONCE: {
        struct pollfd pfd = {v->fds[0], POLLIN, 0};
        while (poll(&pfd, 1, 0) == 0) {
        }
        break;
    }
    case RECV_DONTWAIT:
        while (recv(v->sock[0], buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN) {
        }
        break;
    default: break;
    }
    v->passed = 1;
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(1);
    return NULL;
}

static void cancel_at(enum point point) {
    struct victim v;
    memset(&v, 0, sizeof v);
    v.point = point;
    sem_init(&v.ready, 0, 0);
    sem_init(&v.never, 0, 0);
    must(pipe(v.fds), "pipe");
    must(socketpair(AF_UNIX, SOCK_STREAM, 0, v.sock), "socketpair");
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&v.m, &a);
    pthread_mutexattr_destroy(&a);
    pthread_cond_init(&v.c, NULL);
    sem_t release;
    sem_init(&release, 0, 0);
    if (point == JOIN) v.joined = spawn(blocked_forever, &release);
    pthread_t t = spawn(victim_main, &v);
    sem_wait(&v.ready);
    sleep_ms(20);  // blocked by now; if not, the cancel waits for the call
    const int cancel_rc = pthread_cancel(t);
    void* value = NULL;
    must(pthread_join(t, &value), "join");
    printf("%s:", kPointNames[point]);
    check_err(" cancel", cancel_rc, 0);
    char what[120];
    snprintf(what, sizeof what, "%s: join returned PTHREAD_CANCELED", kPointNames[point]);
    check_yes(what, value == PTHREAD_CANCELED);
    snprintf(what, sizeof what, "%s: cleanup handlers ran (last pushed first)", kPointNames[point]);
    check_str(what, v.order, "UBA");
    snprintf(what, sizeof what, "%s: the mutex was held when its handler ran", kPointNames[point]);
    check_yes(what, v.handler_had_mutex);
    snprintf(what, sizeof what, "%s: got past the call", kPointNames[point]);
    check_str(what, v.passed ? "yes" : "no", "no");
    snprintf(what, sizeof what, "%s: mutex free afterwards (trylock)", kPointNames[point]);
    check_err(what, pthread_mutex_trylock(&v.m), 0);
    pthread_mutex_unlock(&v.m);
    if (point == JOIN) {
        sem_post(&release);
        check_int("pthread_join: the thread it waited for is still joinable, value", (long)join(v.joined), 5);
    }
    close(v.fds[0]);
    close(v.fds[1]);
    close(v.sock[0]);
    close(v.sock[1]);
}

// ---------------------------------------------------------------------------

struct deferred {
    sem_t ready;
    int old_state, old_type;
    int sleep_rc;
    int before_testcancel, after_testcancel;
    pthread_mutex_t m;
    int got_mutex;
};

static void* disabled_victim(void* p) {
    struct deferred* d = p;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &d->old_state);
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &d->old_type);
    sem_post(&d->ready);
    sleep_ms(60);  // the cancel comes meanwhile
    d->sleep_rc = usleep(10000);
    d->before_testcancel = 1;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    pthread_testcancel();
    d->after_testcancel = 1;
    return NULL;
}

static void* mutex_victim(void* p) {
    struct deferred* d = p;
    sem_post(&d->ready);
    pthread_mutex_lock(&d->m);  // no cancellation point: waits for the mutex
    d->got_mutex = 1;
    pthread_mutex_unlock(&d->m);
    pthread_testcancel();
    d->after_testcancel = 1;
    return NULL;
}

static void* self_cancel(void* p) {
    struct deferred* d = p;
    d->sleep_rc = pthread_cancel(pthread_self());
    d->before_testcancel = 1;
    pthread_testcancel();
    d->after_testcancel = 1;
    return NULL;
}

static void* exits(void* p) {
    struct victim* v = p;
    pthread_cleanup_push(handler_a, v);
    pthread_cleanup_push(handler_b, v);
    pthread_cleanup_pop(0);  // B removed without running
    pthread_cleanup_push(handler_b, v);
    pthread_exit((void*)3L);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void* pops(void* p) {
    struct victim* v = p;
    pthread_cleanup_push(handler_a, v);
    pthread_cleanup_push(handler_b, v);
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(0);
    return (void*)4L;
}

static void* returns_at_once(void* p) {
    (void)p;
    return (void*)6L;
}

static void others(void) {
    printf("-- cancel state and type\n");
    struct deferred d;
    memset(&d, 0, sizeof d);
    sem_init(&d.ready, 0, 0);
    pthread_t t = spawn(disabled_victim, &d);
    sem_wait(&d.ready);
    check_err("  cancel of a thread that disabled cancellation", pthread_cancel(t), 0);
    void* value = join(t);
    check_yes("  old state was ENABLE", d.old_state == PTHREAD_CANCEL_ENABLE);
    check_yes("  old type was DEFERRED", d.old_type == PTHREAD_CANCEL_DEFERRED);
    check_err("  its sleeps while disabled completed (usleep)", d.sleep_rc, 0);
    check_yes("  it ran until it enabled cancellation", d.before_testcancel);
    check_str("  it got past pthread_testcancel", d.after_testcancel ? "yes" : "no", "no");
    check_yes("  join returned PTHREAD_CANCELED", value == PTHREAD_CANCELED);

    memset(&d, 0, sizeof d);
    sem_init(&d.ready, 0, 0);
    pthread_mutex_init(&d.m, NULL);
    pthread_mutex_lock(&d.m);
    t = spawn(mutex_victim, &d);
    sem_wait(&d.ready);
    sleep_ms(20);
    pthread_cancel(t);
    sleep_ms(20);
    pthread_mutex_unlock(&d.m);
    value = join(t);
    check_yes("  pthread_mutex_lock is no cancellation point: it got the mutex", d.got_mutex);
    check_yes("  then pthread_testcancel cancelled it", value == PTHREAD_CANCELED && !d.after_testcancel);

    memset(&d, 0, sizeof d);
    value = join(spawn(self_cancel, &d));
    check_err("  pthread_cancel(pthread_self())", d.sleep_rc, 0);
    check_yes("  it went on until pthread_testcancel", d.before_testcancel && !d.after_testcancel);
    check_yes("  join returned PTHREAD_CANCELED", value == PTHREAD_CANCELED);

    printf("-- cleanup handlers without cancellation\n");
    struct victim v;
    memset(&v, 0, sizeof v);
    value = join(spawn(exits, &v));
    check_str("  pthread_exit runs the pushed handlers", v.order, "BA");
    check_int("  join value", (long)value, 3);
    memset(&v, 0, sizeof v);
    value = join(spawn(pops, &v));
    check_str("  pop(1) runs, pop(0) does not", v.order, "B");
    check_int("  join value", (long)value, 4);

    t = spawn(returns_at_once, NULL);
    sleep_ms(20);
    check_err("  cancel of a thread that returned but is not joined", pthread_cancel(t), 0);
    check_int("  join value", (long)join(t), 6);
}

int main(void) {
    watchdog(30);
    signal(SIGPIPE, SIG_IGN);
    for (int p = 0; p < POINTS; ++p) cancel_at((enum point)p);
    others();
    return finish();
}
