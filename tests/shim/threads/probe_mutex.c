// Thread probe: pthread mutexes. Every type (attribute or static initialiser)
// under contention with a wait inside the critical section; who owns a mutex
// (trylock, relock, unlock by another thread); timed and clock locks; destroy
// of a locked mutex; robust mutexes whose owner exits; a process-shared mutex.
#include "probe_threads.h"

#include <sys/mman.h>

// ---------------------------------------------------------------------------
// Contention: four threads add 1 to a counter eight times each, reading it,
// waiting (a sleep or a blocking pipe read) and writing it back inside the lock.

enum { kThreads = 4, kRounds = 8 };

struct contended {
    pthread_mutex_t* m;
    int recursive;
    int counter;
    int inside;
    int overlaps;
};

static void* contender(void* p) {
    struct contended* c = p;
    for (int i = 0; i < kRounds; ++i) {
        must(pthread_mutex_lock(c->m), "lock");
        if (c->recursive) must(pthread_mutex_lock(c->m), "recursive lock");
        if (__atomic_add_fetch(&c->inside, 1, __ATOMIC_SEQ_CST) != 1) __atomic_add_fetch(&c->overlaps, 1, __ATOMIC_SEQ_CST);
        const int v = c->counter;
        if (i % 2)
            usleep(300);
        else
            ticker_wait();
        c->counter = v + 1;
        __atomic_sub_fetch(&c->inside, 1, __ATOMIC_SEQ_CST);
        if (c->recursive) must(pthread_mutex_unlock(c->m), "recursive unlock");
        must(pthread_mutex_unlock(c->m), "unlock");
    }
    return NULL;
}

static void contend(const char* name, pthread_mutex_t* m, int recursive) {
    struct contended c = {m, recursive, 0, 0, 0};
    pthread_t t[kThreads];
    for (int i = 0; i < kThreads; ++i) t[i] = spawn(contender, &c);
    for (int i = 0; i < kThreads; ++i) join(t[i]);
    char what[160];
    snprintf(what, sizeof what, "%s: counter after contention", name);
    check_int(what, c.counter, kThreads * kRounds);
    snprintf(what, sizeof what, "%s: threads inside at once", name);
    check_int(what, c.overlaps, 0);
}

static void init_with(pthread_mutex_t* m, int type, int protocol, int robust) {
    pthread_mutexattr_t a;
    must(pthread_mutexattr_init(&a), "mutexattr_init");
    must(pthread_mutexattr_settype(&a, type), "settype");
    if (protocol) must(pthread_mutexattr_setprotocol(&a, protocol), "setprotocol");
    if (robust) must(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), "setrobust");
    must(pthread_mutex_init(m, &a), "mutex_init");
    pthread_mutexattr_destroy(&a);
}

static void contention(void) {
    ticker_start(500);
    pthread_mutex_t m;
    must(pthread_mutex_init(&m, NULL), "mutex_init");
    contend("default attributes", &m, 0);
    pthread_mutex_destroy(&m);
    const struct {
        const char* name;
        int type, recursive, protocol, robust;
    } kinds[] = {
        {"normal", PTHREAD_MUTEX_NORMAL, 0, 0, 0},
        {"recursive", PTHREAD_MUTEX_RECURSIVE, 1, 0, 0},
        {"errorcheck", PTHREAD_MUTEX_ERRORCHECK, 0, 0, 0},
        {"adaptive", PTHREAD_MUTEX_ADAPTIVE_NP, 0, 0, 0},
        {"normal robust", PTHREAD_MUTEX_NORMAL, 0, 0, 1},
        {"recursive robust", PTHREAD_MUTEX_RECURSIVE, 1, 0, 1},
        {"normal priority-inheritance", PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_INHERIT, 0},
        {"errorcheck priority-inheritance", PTHREAD_MUTEX_ERRORCHECK, 0, PTHREAD_PRIO_INHERIT, 0},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; ++i) {
        init_with(&m, kinds[i].type, kinds[i].protocol, kinds[i].robust);
        contend(kinds[i].name, &m, kinds[i].recursive);
        char what[160];
        snprintf(what, sizeof what, "%s: destroy after use", kinds[i].name);
        check_err(what, pthread_mutex_destroy(&m), 0);
    }
    static pthread_mutex_t s_default = PTHREAD_MUTEX_INITIALIZER;
    static pthread_mutex_t s_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    static pthread_mutex_t s_errorcheck = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    static pthread_mutex_t s_adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    contend("PTHREAD_MUTEX_INITIALIZER", &s_default, 0);
    contend("PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP", &s_recursive, 1);
    contend("PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP", &s_errorcheck, 0);
    contend("PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP", &s_adaptive, 0);
    ticker_stop();
}

// ---------------------------------------------------------------------------
// Ownership: main holds the mutex, another thread tries it.

static int other_trylock(void* m) {
    const int rc = pthread_mutex_trylock(m);
    if (rc == 0) pthread_mutex_unlock(m);
    return rc;
}

static int other_unlock(void* m) { return pthread_mutex_unlock(m); }

static int other_timedlock(void* m) {
    const struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    const double t0 = now();
    const int rc = pthread_mutex_timedlock(m, &ts);
    check_took("  timedlock from another thread waited 0.1 s", now() - t0, 0.1);
    if (rc == 0) pthread_mutex_unlock(m);
    return rc;
}

static int other_clocklock_monotonic(void* m) {
    const struct timespec ts = deadline(CLOCK_MONOTONIC, 0.1);
    const double t0 = now();
    const int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    check_took("  clocklock(MONOTONIC) from another thread waited 0.1 s", now() - t0, 0.1);
    if (rc == 0) pthread_mutex_unlock(m);
    return rc;
}

static int other_clocklock_realtime(void* m) {
    const struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    const double t0 = now();
    const int rc = pthread_mutex_clocklock(m, CLOCK_REALTIME, &ts);
    check_took("  clocklock(REALTIME) from another thread waited 0.1 s", now() - t0, 0.1);
    if (rc == 0) pthread_mutex_unlock(m);
    return rc;
}

static int other_timedlock_past(void* m) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= 1;
    return pthread_mutex_timedlock(m, &ts);
}

static int other_timedlock_bad_nsec(void* m) {
    struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    ts.tv_nsec = 1000000000L;
    return pthread_mutex_timedlock(m, &ts);
}

static int other_clocklock_bad_clock(void* m) {
    const struct timespec ts = deadline(CLOCK_MONOTONIC, 0.1);
    return pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &ts);
}

// Another thread blocks in pthread_mutex_lock until main, after a wait,
// releases the mutex: it must see what main did before releasing.
struct handover {
    pthread_mutex_t* m;
    int released;
    int saw_release;
    int rc;
};

static void* blocking_locker(void* p) {
    struct handover* h = p;
    h->rc = pthread_mutex_lock(h->m);
    h->saw_release = __atomic_load_n(&h->released, __ATOMIC_SEQ_CST);
    if (h->rc == 0) pthread_mutex_unlock(h->m);
    return NULL;
}

static void check_handover(pthread_mutex_t* m) {
    struct handover h = {m, 0, 0, -1};
    must(pthread_mutex_lock(m), "lock");
    pthread_t t = spawn(blocking_locker, &h);
    sleep_ms(50);
    __atomic_store_n(&h.released, 1, __ATOMIC_SEQ_CST);
    must(pthread_mutex_unlock(m), "unlock");
    join(t);
    check_err("  lock from another thread (blocks)", h.rc, 0);
    check_yes("  it got the mutex only after main released it", h.saw_release);
}

static void ownership(void) {
    pthread_mutex_t m;

    printf("-- normal\n");
    init_with(&m, PTHREAD_MUTEX_NORMAL, 0, 0);
    must(pthread_mutex_lock(&m), "lock");
    check_err("  trylock by the owner", pthread_mutex_trylock(&m), EBUSY);
    check_err("  trylock from another thread", in_thread(other_trylock, &m), EBUSY);
    check_err("  timedlock from another thread", in_thread(other_timedlock, &m), ETIMEDOUT);
    check_err("  clocklock(MONOTONIC) from another thread", in_thread(other_clocklock_monotonic, &m), ETIMEDOUT);
    check_err("  clocklock(REALTIME) from another thread", in_thread(other_clocklock_realtime, &m), ETIMEDOUT);
    check_err("  timedlock with a past deadline", in_thread(other_timedlock_past, &m), ETIMEDOUT);
    check_err("  timedlock with tv_nsec 1e9", in_thread(other_timedlock_bad_nsec, &m), EINVAL);
    check_err("  clocklock(PROCESS_CPUTIME_ID)", in_thread(other_clocklock_bad_clock, &m), EINVAL);
    check_err("  destroy while locked", pthread_mutex_destroy(&m), EBUSY);
    must(pthread_mutex_unlock(&m), "unlock");
    check_err("  trylock from another thread once free", in_thread(other_trylock, &m), 0);
    check_handover(&m);
    check_err("  destroy", pthread_mutex_destroy(&m), 0);

    printf("-- recursive\n");
    init_with(&m, PTHREAD_MUTEX_RECURSIVE, 0, 0);
    check_err("  lock", pthread_mutex_lock(&m), 0);
    check_err("  lock again", pthread_mutex_lock(&m), 0);
    check_err("  trylock by the owner", pthread_mutex_trylock(&m), 0);
    check_err("  trylock from another thread", in_thread(other_trylock, &m), EBUSY);
    check_err("  unlock from another thread", in_thread(other_unlock, &m), EPERM);
    check_err("  clocklock(MONOTONIC) from another thread", in_thread(other_clocklock_monotonic, &m), ETIMEDOUT);
    check_err("  destroy while locked", pthread_mutex_destroy(&m), EBUSY);
    check_err("  unlock 1", pthread_mutex_unlock(&m), 0);
    check_err("  unlock 2", pthread_mutex_unlock(&m), 0);
    check_err("  trylock from another thread while still held once", in_thread(other_trylock, &m), EBUSY);
    check_err("  unlock 3", pthread_mutex_unlock(&m), 0);
    check_err("  unlock 4 (not held)", pthread_mutex_unlock(&m), EPERM);
    check_err("  trylock from another thread once free", in_thread(other_trylock, &m), 0);
    check_handover(&m);
    check_err("  destroy", pthread_mutex_destroy(&m), 0);

    printf("-- errorcheck\n");
    init_with(&m, PTHREAD_MUTEX_ERRORCHECK, 0, 0);
    check_err("  lock", pthread_mutex_lock(&m), 0);
    check_err("  lock again", pthread_mutex_lock(&m), EDEADLK);
    check_err("  trylock by the owner", pthread_mutex_trylock(&m), EBUSY);
    check_err("  trylock from another thread", in_thread(other_trylock, &m), EBUSY);
    check_err("  unlock from another thread", in_thread(other_unlock, &m), EPERM);
    check_err("  timedlock from another thread", in_thread(other_timedlock, &m), ETIMEDOUT);
    check_err("  clocklock(REALTIME) from another thread", in_thread(other_clocklock_realtime, &m), ETIMEDOUT);
    check_err("  destroy while locked", pthread_mutex_destroy(&m), EBUSY);
    check_err("  unlock", pthread_mutex_unlock(&m), 0);
    check_err("  unlock again", pthread_mutex_unlock(&m), EPERM);
    check_err("  trylock from another thread once free", in_thread(other_trylock, &m), 0);
    check_handover(&m);
    check_err("  destroy", pthread_mutex_destroy(&m), 0);

    printf("-- PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP\n");
    static pthread_mutex_t s_errorcheck = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    check_err("  lock", pthread_mutex_lock(&s_errorcheck), 0);
    check_err("  lock again", pthread_mutex_lock(&s_errorcheck), EDEADLK);
    check_err("  unlock from another thread", in_thread(other_unlock, &s_errorcheck), EPERM);
    check_err("  unlock", pthread_mutex_unlock(&s_errorcheck), 0);
    check_handover(&s_errorcheck);

    printf("-- PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP\n");
    static pthread_mutex_t s_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    check_err("  lock twice", pthread_mutex_lock(&s_recursive) | pthread_mutex_lock(&s_recursive), 0);
    check_err("  trylock from another thread", in_thread(other_trylock, &s_recursive), EBUSY);
    check_err("  unlock from another thread", in_thread(other_unlock, &s_recursive), EPERM);
    check_err("  unlock twice", pthread_mutex_unlock(&s_recursive) | pthread_mutex_unlock(&s_recursive), 0);
    check_handover(&s_recursive);

    printf("-- PTHREAD_MUTEX_INITIALIZER and PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP\n");
    static pthread_mutex_t s_default = PTHREAD_MUTEX_INITIALIZER;
    static pthread_mutex_t s_adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    must(pthread_mutex_lock(&s_default), "lock");
    must(pthread_mutex_lock(&s_adaptive), "lock");
    check_err("  default: trylock from another thread", in_thread(other_trylock, &s_default), EBUSY);
    check_err("  adaptive: trylock from another thread", in_thread(other_trylock, &s_adaptive), EBUSY);
    check_err("  adaptive: clocklock(MONOTONIC) from another thread", in_thread(other_clocklock_monotonic, &s_adaptive),
              ETIMEDOUT);
    must(pthread_mutex_unlock(&s_default), "unlock");
    must(pthread_mutex_unlock(&s_adaptive), "unlock");
    check_handover(&s_default);
    check_handover(&s_adaptive);

    printf("-- errorcheck priority-inheritance\n");
    init_with(&m, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_INHERIT, 0);
    check_err("  lock", pthread_mutex_lock(&m), 0);
    check_err("  lock again", pthread_mutex_lock(&m), EDEADLK);
    check_err("  trylock from another thread", in_thread(other_trylock, &m), EBUSY);
    check_err("  unlock from another thread", in_thread(other_unlock, &m), EPERM);
    check_err("  unlock", pthread_mutex_unlock(&m), 0);
    check_handover(&m);
    check_err("  destroy", pthread_mutex_destroy(&m), 0);

    check_err("consistent on a mutex that is not robust", pthread_mutex_consistent(&s_default), EINVAL);
}

// ---------------------------------------------------------------------------
// Robust mutexes: the owner exits while holding the lock.

static void* lock_and_exit(void* m) {
    must(pthread_mutex_lock(m), "lock");
    return NULL;
}

static void* lock_wait_and_exit(void* p) {
    pthread_mutex_t* m = p;
    must(pthread_mutex_lock(m), "lock");
    sleep_ms(50);  // another thread blocks in lock meanwhile
    return NULL;
}

static void* lock_rc(void* m) {
    const int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) pthread_mutex_consistent(m);
    if (rc == 0 || rc == EOWNERDEAD) pthread_mutex_unlock(m);
    return (void*)(long)rc;
}

static void robust(void) {
    for (int type = 0; type < 2; ++type) {
        printf("-- robust %s\n", type ? "errorcheck" : "normal");
        pthread_mutex_t m;
        init_with(&m, type ? PTHREAD_MUTEX_ERRORCHECK : PTHREAD_MUTEX_NORMAL, 0, 1);
        join(spawn(lock_and_exit, &m));
        check_err("  lock after the owner exited", pthread_mutex_lock(&m), EOWNERDEAD);
        check_err("  consistent", pthread_mutex_consistent(&m), 0);
        check_err("  unlock", pthread_mutex_unlock(&m), 0);
        check_err("  lock again", pthread_mutex_lock(&m), 0);
        check_err("  unlock again", pthread_mutex_unlock(&m), 0);

        join(spawn(lock_and_exit, &m));
        check_err("  trylock after the owner exited", pthread_mutex_trylock(&m), EOWNERDEAD);
        check_err("  unlock without consistent", pthread_mutex_unlock(&m), 0);
        check_err("  lock now", pthread_mutex_lock(&m), ENOTRECOVERABLE);
        check_err("  trylock now", pthread_mutex_trylock(&m), ENOTRECOVERABLE);
        pthread_mutex_destroy(&m);

        init_with(&m, type ? PTHREAD_MUTEX_ERRORCHECK : PTHREAD_MUTEX_NORMAL, 0, 1);
        pthread_t owner = spawn(lock_wait_and_exit, &m);
        sleep_ms(10);
        pthread_t waiter = spawn(lock_rc, &m);
        join(owner);
        check_err("  a thread blocked in lock when the owner exits", (int)(long)join(waiter), EOWNERDEAD);
        check_err("  lock afterwards", pthread_mutex_lock(&m), 0);
        check_err("  unlock afterwards", pthread_mutex_unlock(&m), 0);
        pthread_mutex_destroy(&m);
    }
}

// ---------------------------------------------------------------------------
// A process-shared mutex in shared memory, used between threads.

static void process_shared(void) {
    printf("-- process-shared\n");
    pthread_mutex_t* m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) must(-1, "mmap");
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    must(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "setpshared");
    int shared = 0;
    pthread_mutexattr_getpshared(&a, &shared);
    check_yes("  attribute reads back as PTHREAD_PROCESS_SHARED", shared == PTHREAD_PROCESS_SHARED);
    must(pthread_mutex_init(m, &a), "mutex_init");
    pthread_mutexattr_destroy(&a);
    ticker_start(500);
    contend("  process-shared", m, 0);
    ticker_stop();
    must(pthread_mutex_lock(m), "lock");
    check_err("  trylock from another thread", in_thread(other_trylock, m), EBUSY);
    must(pthread_mutex_unlock(m), "unlock");
    check_handover(m);
    check_err("  destroy", pthread_mutex_destroy(m), 0);
    munmap(m, sizeof *m);
}

int main(void) {
    watchdog(30);
    contention();
    ownership();
    robust();
    process_shared();
    return finish();
}
