// Thread probe: futexes through syscall(SYS_futex), as programs and libraries
// with their own locks use them. FUTEX_WAIT returns EAGAIN on a changed word
// and ETIMEDOUT after its relative timeout; FUTEX_WAIT_BITSET takes an
// absolute deadline (MONOTONIC, or REALTIME with FUTEX_CLOCK_REALTIME);
// FUTEX_WAKE wakes at most the number asked and reports how many; private and
// shared futexes; a futex-based mutex under contention with a wait inside.
#include "probe_threads.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>

static long futex(int* uaddr, int op, int val, const struct timespec* ts, int* uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static int wait_rc(long r) { return r == 0 ? 0 : errno; }

// ---------------------------------------------------------------------------

static void single_thread_cases(void) {
    printf("-- one thread\n");
    int word = 1;
    check_err("  FUTEX_WAIT on a changed word", wait_rc(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)), EAGAIN);
    check_err("  FUTEX_WAIT (shared) on a changed word", wait_rc(futex(&word, FUTEX_WAIT, 0, NULL, NULL, 0)), EAGAIN);
    struct timespec rel = {0, 100000000};
    double t0 = now();
    check_err("  FUTEX_WAIT 100 ms", wait_rc(futex(&word, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0)), ETIMEDOUT);
    check_took("  it waited 100 ms", now() - t0, 0.1);
    struct timespec abs = deadline(CLOCK_MONOTONIC, 0.1);
    t0 = now();
    check_err("  FUTEX_WAIT_BITSET until MONOTONIC + 100 ms",
              wait_rc(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY)), ETIMEDOUT);
    check_took("  it waited 100 ms", now() - t0, 0.1);
    abs = deadline(CLOCK_REALTIME, 0.1);
    t0 = now();
    check_err("  FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME until REALTIME + 100 ms",
              wait_rc(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs, NULL,
                            FUTEX_BITSET_MATCH_ANY)),
              ETIMEDOUT);
    check_took("  it waited 100 ms", now() - t0, 0.1);
    rel.tv_nsec = 1000000000L;
    check_err("  FUTEX_WAIT with tv_nsec 1e9", wait_rc(futex(&word, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0)), EINVAL);
    check_err("  FUTEX_WAIT_BITSET with bitset 0",
              wait_rc(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0)), EINVAL);
    check_int("  FUTEX_WAKE with no waiter", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
}

// ---------------------------------------------------------------------------
// Waiters that wait once on a word that stays 0, and count their returns.

enum { kWaiters = 4 };

struct crowd {
    int word;
    int op;  // FUTEX_WAIT or FUTEX_WAIT_PRIVATE
    int ready;
    int returned;
    int bad;
};

static void* waiter(void* p) {
    struct crowd* c = p;
    __atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
    long r;
    do
        r = futex(&c->word, c->op, 0, NULL, NULL, 0);
    while (r != 0 && errno == EINTR);
    if (r != 0) __atomic_add_fetch(&c->bad, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

// Wakes the waiters `per_call` at a time until all returned; each call must wake at most `per_call`.
static void wake_all_of(const char* what, int wait_op, int wake_op, int per_call) {
    struct crowd c = {0, wait_op, 0, 0, 0};
    pthread_t t[kWaiters];
    for (int i = 0; i < kWaiters; ++i) t[i] = spawn(waiter, &c);
    while (__atomic_load_n(&c.ready, __ATOMIC_SEQ_CST) < kWaiters) sleep_ms(1);
    sleep_ms(20);
    check_int("  waiters returned before any wake", __atomic_load_n(&c.returned, __ATOMIC_SEQ_CST), 0);
    long woken = 0, most = 0;
    const double t0 = now();
    while (woken < kWaiters && now() - t0 < 5.0) {
        const long n = futex(&c.word, wake_op, per_call, NULL, NULL, 0);
        if (n > most) most = n;
        woken += n;
        if (n == 0) sleep_ms(1);  // a waiter that is not in the kernel yet
    }
    for (int i = 0; i < kWaiters; ++i) join(t[i]);
    char line[160];
    snprintf(line, sizeof line, "  %s: woken in all", what);
    check_int(line, woken, kWaiters);
    snprintf(line, sizeof line, "  %s: at most %d per call", what, per_call);
    check_yes(line, most <= per_call);
    snprintf(line, sizeof line, "  %s: waits that returned an error", what);
    check_int(line, c.bad, 0);
}

static void wakes(void) {
    printf("-- wake\n");
    wake_all_of("FUTEX_WAKE_PRIVATE 1", FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE, 1);
    wake_all_of("FUTEX_WAKE_PRIVATE INT_MAX", FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE, INT_MAX);
    wake_all_of("FUTEX_WAKE (shared) 2", FUTEX_WAIT, FUTEX_WAKE, 2);
}

// A waiter with a long timeout is woken early.
struct early {
    int word;
    int rc;
    double took;
};

static void* early_waiter(void* p) {
    struct early* e = p;
    const struct timespec rel = {5, 0};
    const double t0 = now();
    long r;
    do
        r = futex(&e->word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
    while (r != 0 && errno == EINTR);
    e->rc = wait_rc(r);
    e->took = now() - t0;
    return NULL;
}

static void woken_before_timeout(void) {
    struct early e = {0, -1, 0};
    pthread_t t = spawn(early_waiter, &e);
    long n = 0;
    const double t0 = now();
    while (n == 0 && now() - t0 < 4.0) {
        sleep_ms(5);
        n = futex(&e.word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    join(t);
    check_int("  FUTEX_WAKE of a waiter with a 5 s timeout", n, 1);
    check_err("  its wait", e.rc, 0);
    check_yes("  it returned before its timeout", e.took < 4.5);
}

// ---------------------------------------------------------------------------
// A three-state futex mutex (0 free, 1 locked, 2 locked with waiters).

struct fmutex {
    int state;
};

static void fm_lock(struct fmutex* m) {
    int c = 0;
    if (__atomic_compare_exchange_n(&m->state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (c != 2) c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        futex(&m->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    }
}

static void fm_unlock(struct fmutex* m) {
    if (__atomic_fetch_sub(&m->state, 1, __ATOMIC_RELEASE) != 1) {
        __atomic_store_n(&m->state, 0, __ATOMIC_RELEASE);
        futex(&m->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

struct shared_counter {
    struct fmutex m;
    int value;
    int inside, overlaps;
};

static void* fm_worker(void* p) {
    struct shared_counter* s = p;
    for (int i = 0; i < 10; ++i) {
        fm_lock(&s->m);
        if (__atomic_add_fetch(&s->inside, 1, __ATOMIC_SEQ_CST) != 1) __atomic_add_fetch(&s->overlaps, 1, __ATOMIC_SEQ_CST);
        const int v = s->value;
        usleep(300);
        s->value = v + 1;
        __atomic_sub_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
        fm_unlock(&s->m);
    }
    return NULL;
}

static void futex_mutex(void) {
    printf("-- a futex mutex\n");
    struct shared_counter s = {{0}, 0, 0, 0};
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) t[i] = spawn(fm_worker, &s);
    for (int i = 0; i < 4; ++i) join(t[i]);
    check_int("  counter after 4 threads x 10", s.value, 40);
    check_int("  threads inside at once", s.overlaps, 0);
    check_int("  state afterwards", s.m.state, 0);
}

int main(void) {
    watchdog(30);
    single_thread_cases();
    wakes();
    woken_before_timeout();
    futex_mutex();
    return finish();
}
