// Thread probe: the rest of the pthread family. Barriers (one serial thread
// per round), spinlocks, unnamed semaphores, pthread_once with a blocking
// initialiser, keys and their destructor rounds, errno and uselocale per
// thread, sched_yield, thread identity, names, stack attributes (size, guard,
// caller-supplied stack, deep recursion), detached threads, the join family,
// pthread_kill(t, 0), scheduling parameters, hundreds of live threads, and
// thousands of threads that come and go without the heap growing.
#include "probe_threads.h"

#include <limits.h>
#include <locale.h>
#include <malloc.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/mman.h>

// ---------------------------------------------------------------------------
// Barriers.

enum { kBarrierThreads = 4, kRounds = 5 };

struct rounds {
    pthread_barrier_t b;
    int arrived[kRounds];
    int serial[kRounds];
    int early;
    int other_rc;
};

static void* barrier_worker(void* p) {
    struct rounds* r = ((void**)p)[0];
    const int id = (int)(long)((void**)p)[1];
    for (int round = 0; round < kRounds; ++round) {
        if ((id + round) % kBarrierThreads == 0) sleep_ms(5);  // one late thread per round
        __atomic_add_fetch(&r->arrived[round], 1, __ATOMIC_SEQ_CST);
        const int rc = pthread_barrier_wait(&r->b);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&r->serial[round], 1, __ATOMIC_SEQ_CST);
        else if (rc != 0)
            __atomic_store_n(&r->other_rc, rc, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&r->arrived[round], __ATOMIC_SEQ_CST) != kBarrierThreads)
            __atomic_add_fetch(&r->early, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void barriers(void) {
    printf("-- barrier\n");
    pthread_barrier_t b0;
    check_err("  init with count 0", pthread_barrier_init(&b0, NULL, 0), EINVAL);
    struct rounds r;
    memset(&r, 0, sizeof r);
    must(pthread_barrier_init(&r.b, NULL, kBarrierThreads), "barrier_init");
    pthread_t t[kBarrierThreads];
    void* args[kBarrierThreads][2];
    for (int i = 0; i < kBarrierThreads; ++i) {
        args[i][0] = &r;
        args[i][1] = (void*)(long)i;
        t[i] = spawn(barrier_worker, args[i]);
    }
    for (int i = 0; i < kBarrierThreads; ++i) join(t[i]);
    int serial_ok = 1;
    for (int round = 0; round < kRounds; ++round) serial_ok = serial_ok && r.serial[round] == 1;
    check_yes("  5 rounds of 4 threads: PTHREAD_BARRIER_SERIAL_THREAD exactly once per round", serial_ok);
    check_err("  other return values", r.other_rc, 0);
    check_int("  threads that left a round before all arrived", r.early, 0);
    check_err("  destroy", pthread_barrier_destroy(&r.b), 0);
}

// ---------------------------------------------------------------------------
// Spinlocks (nobody waits inside one).

struct spun {
    pthread_spinlock_t s;
    long counter;
};

static void* spinner(void* p) {
    struct spun* s = p;
    for (int i = 0; i < 2000; ++i) {
        pthread_spin_lock(&s->s);
        s->counter++;
        pthread_spin_unlock(&s->s);
        if (i % 100 == 0) sched_yield();
    }
    return NULL;
}

static int other_spin_trylock(void* p) {
    const int rc = pthread_spin_trylock(p);
    if (rc == 0) pthread_spin_unlock(p);
    return rc;
}

static void spinlocks(void) {
    printf("-- spinlock\n");
    struct spun s = {.counter = 0};
    must(pthread_spin_init(&s.s, PTHREAD_PROCESS_PRIVATE), "spin_init");
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) t[i] = spawn(spinner, &s);
    for (int i = 0; i < 4; ++i) join(t[i]);
    check_int("  counter after 4 threads x 2000", s.counter, 8000);
    pthread_spin_lock(&s.s);
    check_err("  trylock from another thread while held", in_thread(other_spin_trylock, (void*)&s.s), EBUSY);
    pthread_spin_unlock(&s.s);
    check_err("  trylock from another thread when free", in_thread(other_spin_trylock, (void*)&s.s), 0);
    check_err("  destroy", pthread_spin_destroy(&s.s), 0);
}

// ---------------------------------------------------------------------------
// Unnamed semaphores.

struct sem_pair {
    sem_t a, b;
    int rounds_a, rounds_b;
    int released, saw_release;
    int rc;
};

static void* sem_waiter(void* p) {
    struct sem_pair* s = p;
    s->rc = rc_errno(sem_wait(&s->a));
    s->saw_release = __atomic_load_n(&s->released, __ATOMIC_SEQ_CST);
    return NULL;
}

static void* ping(void* p) {
    struct sem_pair* s = p;
    for (int i = 0; i < 200; ++i) {
        sem_wait(&s->a);
        ++s->rounds_a;
        sem_post(&s->b);
    }
    return NULL;
}

static void* pong(void* p) {
    struct sem_pair* s = p;
    for (int i = 0; i < 200; ++i) {
        sem_post(&s->a);
        sem_wait(&s->b);
        ++s->rounds_b;
    }
    return NULL;
}

static void* sem_counter(void* p) {
    sem_wait(p);
    return NULL;
}

static void sem_timeout(const char* what, sem_t* s, int how) {
    const clockid_t clock = how == 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    const struct timespec ts = deadline(clock, 0.1);
    const double t0 = now();
    const int rc = how == 0 ? sem_timedwait(s, &ts) : sem_clockwait(s, clock, &ts);
    const double took = now() - t0;
    char line[160];
    snprintf(line, sizeof line, "  %s", what);
    check_err(line, rc == 0 ? 0 : errno, ETIMEDOUT);
    snprintf(line, sizeof line, "  %s waited 0.1 s", what);
    check_took(line, took, 0.1);
}

static void semaphores(void) {
    printf("-- semaphores\n");
    sem_t s;
    int v = -1;
    check_err("  init above SEM_VALUE_MAX", rc_errno(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1u)), EINVAL);
    must(sem_init(&s, 0, 0), "sem_init");
    check_err("  trywait at 0", rc_errno(sem_trywait(&s)), EAGAIN);
    sem_getvalue(&s, &v);
    check_int("  getvalue", v, 0);
    check_err("  post", rc_errno(sem_post(&s)), 0);
    check_err("  post", rc_errno(sem_post(&s)), 0);
    sem_getvalue(&s, &v);
    check_int("  getvalue after two posts", v, 2);
    check_err("  trywait", rc_errno(sem_trywait(&s)), 0);
    check_err("  wait", rc_errno(sem_wait(&s)), 0);
    sem_getvalue(&s, &v);
    check_int("  getvalue", v, 0);
    sem_timeout("timedwait at 0", &s, 0);
    sem_timeout("clockwait(REALTIME) at 0", &s, 1);
    sem_timeout("clockwait(MONOTONIC) at 0", &s, 2);
    struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    ts.tv_nsec = 1000000000L;
    check_err("  timedwait with tv_nsec 1e9", rc_errno(sem_timedwait(&s, &ts)), EINVAL);
    ts = deadline(CLOCK_MONOTONIC, 0.1);
    check_err("  clockwait(PROCESS_CPUTIME_ID)", rc_errno(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &ts)), EINVAL);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= 1;
    check_err("  timedwait with a past deadline", rc_errno(sem_timedwait(&s, &ts)), ETIMEDOUT);
    sem_post(&s);
    ts = deadline(CLOCK_REALTIME, 5);
    check_err("  timedwait when available", rc_errno(sem_timedwait(&s, &ts)), 0);
    sem_destroy(&s);

    sem_t full;
    must(sem_init(&full, 0, SEM_VALUE_MAX), "sem_init");
    check_err("  post at SEM_VALUE_MAX", rc_errno(sem_post(&full)), EOVERFLOW);
    sem_destroy(&full);

    struct sem_pair pair;
    memset(&pair, 0, sizeof pair);
    sem_init(&pair.a, 0, 0);
    sem_init(&pair.b, 0, 0);
    pthread_t t = spawn(sem_waiter, &pair);
    sleep_ms(30);
    __atomic_store_n(&pair.released, 1, __ATOMIC_SEQ_CST);
    sem_post(&pair.a);
    join(t);
    check_err("  wait in another thread until a post", pair.rc, 0);
    check_yes("  it returned only after the post", pair.saw_release);

    pthread_t p1 = spawn(ping, &pair), p2 = spawn(pong, &pair);
    join(p1);
    join(p2);
    check_int("  ping-pong rounds (ping)", pair.rounds_a, 200);
    check_int("  ping-pong rounds (pong)", pair.rounds_b, 200);

    pthread_t waiters[6];
    for (int i = 0; i < 6; ++i) waiters[i] = spawn(sem_counter, &pair.a);
    sleep_ms(10);
    for (int i = 0; i < 6; ++i) sem_post(&pair.a);
    for (int i = 0; i < 6; ++i) join(waiters[i]);
    sem_getvalue(&pair.a, &v);
    check_int("  six waiters, six posts: value afterwards", v, 0);
    sem_destroy(&pair.a);
    sem_destroy(&pair.b);

    // A process-shared semaphore in shared memory, between threads.
    sem_t* shared = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) must(-1, "mmap");
    must(sem_init(shared, 1, 0), "sem_init pshared");
    t = spawn(sem_counter, shared);
    sleep_ms(10);
    sem_post(shared);
    join(t);
    sem_getvalue(shared, &v);
    check_int("  process-shared: value after wait and post", v, 0);
    sem_destroy(shared);
    munmap(shared, sizeof(sem_t));
}

// ---------------------------------------------------------------------------
// pthread_once with an initialiser that blocks while the others arrive.

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_once_pipe[2];
static int s_once_runs, s_once_done;

static void once_init(void) {
    __atomic_add_fetch(&s_once_runs, 1, __ATOMIC_SEQ_CST);
    sleep_ms(30);
    char c;
    if (read(s_once_pipe[0], &c, 1) != 1) must(-1, "read");
    __atomic_store_n(&s_once_done, 1, __ATOMIC_SEQ_CST);
}

struct once_arrival {
    pthread_mutex_t m;
    pthread_cond_t c;
    int arrived;
    int saw_done;
};

static void* once_caller(void* p) {
    struct once_arrival* a = p;
    pthread_mutex_lock(&a->m);
    ++a->arrived;
    pthread_cond_signal(&a->c);
    pthread_mutex_unlock(&a->m);
    pthread_once(&s_once, once_init);
    if (__atomic_load_n(&s_once_done, __ATOMIC_SEQ_CST)) __atomic_add_fetch(&a->saw_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void once(void) {
    printf("-- pthread_once\n");
    must(pipe(s_once_pipe), "pipe");
    struct once_arrival a;
    memset(&a, 0, sizeof a);
    pthread_mutex_init(&a.m, NULL);
    pthread_cond_init(&a.c, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) t[i] = spawn(once_caller, &a);
    pthread_mutex_lock(&a.m);
    while (a.arrived < 4) pthread_cond_wait(&a.c, &a.m);
    pthread_mutex_unlock(&a.m);
    sleep_ms(20);
    if (write(s_once_pipe[1], "x", 1) != 1) must(-1, "write");
    for (int i = 0; i < 4; ++i) join(t[i]);
    check_int("  initialiser runs (4 threads at once)", s_once_runs, 1);
    check_int("  threads that saw it done when pthread_once returned", a.saw_done, 4);
    pthread_once(&s_once, once_init);
    check_int("  initialiser runs after another call", s_once_runs, 1);
    close(s_once_pipe[0]);
    close(s_once_pipe[1]);
}

// ---------------------------------------------------------------------------
// Keys.

static pthread_key_t s_key, s_sticky_key, s_deleted_key;
static int s_destructor_calls, s_destructor_wrong_value, s_sticky_calls, s_deleted_calls;
static int s_token;

static void destructor(void* v) {
    __atomic_add_fetch(&s_destructor_calls, 1, __ATOMIC_SEQ_CST);
    if (v != &s_token) __atomic_add_fetch(&s_destructor_wrong_value, 1, __ATOMIC_SEQ_CST);
    if (pthread_getspecific(s_key) != NULL) __atomic_add_fetch(&s_destructor_wrong_value, 1, __ATOMIC_SEQ_CST);
}

static void sticky_destructor(void* v) {
    __atomic_add_fetch(&s_sticky_calls, 1, __ATOMIC_SEQ_CST);
    pthread_setspecific(s_sticky_key, v);  // set again: another round
}

static void deleted_destructor(void* v) {
    (void)v;
    __atomic_add_fetch(&s_deleted_calls, 1, __ATOMIC_SEQ_CST);
}

static void* key_user(void* p) {
    (void)p;
    const int initially_null = pthread_getspecific(s_key) == NULL;
    pthread_setspecific(s_key, &s_token);
    pthread_setspecific(s_sticky_key, &s_token);
    return (void*)(long)initially_null;
}

static void* key_null_user(void* p) {
    (void)p;
    pthread_setspecific(s_key, &s_token);
    pthread_setspecific(s_key, NULL);
    return NULL;
}

struct key_values {
    pthread_key_t key;
    sem_t go[4];
    int own[4];
};

static void* key_own(void* p) {
    struct key_values* k = ((void**)p)[0];
    const int id = (int)(long)((void**)p)[1];
    pthread_setspecific(k->key, &k->own[id]);
    sem_post(&k->go[(id + 1) % 4]);
    sem_wait(&k->go[id]);  // everybody has set its value meanwhile
    sleep_ms(5);
    return (void*)(long)(pthread_getspecific(k->key) == &k->own[id]);
}

static void* key_set_then_wait(void* p) {
    pthread_setspecific(s_deleted_key, &s_token);
    sem_post(((sem_t**)p)[0]);
    sem_wait(((sem_t**)p)[1]);
    return NULL;
}

static void keys(void) {
    printf("-- keys\n");
    must(pthread_key_create(&s_key, destructor), "key_create");
    must(pthread_key_create(&s_sticky_key, sticky_destructor), "key_create");
    int main_value = 7;
    pthread_setspecific(s_key, &main_value);
    check_yes("  a new thread starts with NULL", (long)join(spawn(key_user, NULL)) == 1);
    check_int("  destructor calls for one thread", s_destructor_calls, 1);
    check_int("  destructor saw the value, and NULL in the key", s_destructor_wrong_value, 0);
    check_int("  a destructor that sets the value again runs (PTHREAD_DESTRUCTOR_ITERATIONS)", s_sticky_calls,
              PTHREAD_DESTRUCTOR_ITERATIONS);
    join(spawn(key_null_user, NULL));
    check_int("  destructor calls after a thread left NULL", s_destructor_calls, 1);
    check_yes("  main's value untouched", pthread_getspecific(s_key) == &main_value);

    struct key_values k;
    must(pthread_key_create(&k.key, NULL), "key_create");
    pthread_t t[4];
    void* args[4][2];
    for (int i = 0; i < 4; ++i) sem_init(&k.go[i], 0, 0);
    for (int i = 0; i < 4; ++i) {
        args[i][0] = &k;
        args[i][1] = (void*)(long)i;
        t[i] = spawn(key_own, args[i]);
    }
    int own_ok = 0;
    for (int i = 0; i < 4; ++i) own_ok += (int)(long)join(t[i]);
    check_int("  threads that read back their own value after the others set theirs", own_ok, 4);
    check_err("  key_delete", pthread_key_delete(k.key), 0);

    must(pthread_key_create(&s_deleted_key, deleted_destructor), "key_create");
    sem_t set, go;
    sem_init(&set, 0, 0);
    sem_init(&go, 0, 0);
    sem_t* sems[2] = {&set, &go};
    pthread_t d = spawn(key_set_then_wait, sems);
    sem_wait(&set);
    check_err("  key_delete while a thread has a value", pthread_key_delete(s_deleted_key), 0);
    sem_post(&go);
    join(d);
    check_int("  destructor calls for a deleted key", s_deleted_calls, 0);
    check_err("  key_delete again", pthread_key_delete(s_deleted_key), EINVAL);
}

// ---------------------------------------------------------------------------
// errno and the locale belong to each thread.

struct turns {
    sem_t a, b;
    int a_errno, b_errno;
    size_t a_mb, b_mb;
    int a_locale_kept;
    locale_t utf8;
};

static void* errno_a(void* p) {
    struct turns* t = p;
    uselocale(t->utf8);
    errno = EDOM;
    sem_post(&t->b);
    sem_wait(&t->a);  // b sets its errno and locale meanwhile
    sleep_ms(5);
    t->a_errno = errno;
    t->a_mb = MB_CUR_MAX;
    t->a_locale_kept = uselocale((locale_t)0) == t->utf8;
    uselocale(LC_GLOBAL_LOCALE);
    return NULL;
}

static void* errno_b(void* p) {
    struct turns* t = p;
    sem_wait(&t->b);
    errno = ERANGE;
    sem_post(&t->a);
    sleep_ms(10);
    t->b_errno = errno;
    t->b_mb = MB_CUR_MAX;
    return NULL;
}

static void per_thread_state(void) {
    printf("-- errno and locale per thread\n");
    struct turns t;
    memset(&t, 0, sizeof t);
    sem_init(&t.a, 0, 0);
    sem_init(&t.b, 0, 0);
    t.utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    check_yes("  newlocale C.UTF-8", t.utf8 != (locale_t)0);
    if (!t.utf8) return;
    errno = EXDEV;
    pthread_t a = spawn(errno_a, &t), b = spawn(errno_b, &t);
    join(a);
    join(b);
    check_err("  errno of thread a (set EDOM before b set ERANGE)", t.a_errno, EDOM);
    check_err("  errno of thread b", t.b_errno, ERANGE);
    check_err("  errno of main", errno, EXDEV);
    check_int("  MB_CUR_MAX in thread a (uselocale C.UTF-8)", (long)t.a_mb, 6);
    check_yes("  thread a's uselocale(0) is still its locale", t.a_locale_kept);
    check_int("  MB_CUR_MAX in thread b (global C locale)", (long)t.b_mb, 1);
    check_int("  MB_CUR_MAX in main", (long)MB_CUR_MAX, 1);
    check_yes("  main's uselocale(0) is LC_GLOBAL_LOCALE", uselocale((locale_t)0) == LC_GLOBAL_LOCALE);
    freelocale(t.utf8);
}

// ---------------------------------------------------------------------------
// Identity: pthread_self, pthread_equal, sched_yield.

struct identity {
    pthread_t at_start, after_sleep;
    int yield_rc;
};

static void* identify(void* p) {
    struct identity* id = p;
    id->at_start = pthread_self();
    id->yield_rc = sched_yield();
    sleep_ms(5);
    id->after_sleep = pthread_self();
    return NULL;
}

static void identities(void) {
    printf("-- identity\n");
    const pthread_t main_self = pthread_self();
    struct identity ids[4];
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) t[i] = spawn(identify, &ids[i]);
    for (int i = 0; i < 4; ++i) join(t[i]);
    int stable = 1, matches_create = 1, distinct = 1, yields = 1;
    for (int i = 0; i < 4; ++i) {
        stable = stable && pthread_equal(ids[i].at_start, ids[i].after_sleep);
        matches_create = matches_create && pthread_equal(ids[i].at_start, t[i]);
        distinct = distinct && !pthread_equal(ids[i].at_start, main_self);
        yields = yields && ids[i].yield_rc == 0;
        for (int j = 0; j < i; ++j) distinct = distinct && !pthread_equal(ids[i].at_start, ids[j].at_start);
    }
    check_yes("  pthread_self is stable across a sleep", stable);
    check_yes("  pthread_self is what pthread_create returned", matches_create);
    check_yes("  threads that lived together are distinct (and not main)", distinct);
    check_yes("  sched_yield returned 0", yields);
    check_yes("  main's pthread_self is stable", pthread_equal(main_self, pthread_self()));
}

// ---------------------------------------------------------------------------
// Names.

struct naming {
    sem_t named, renamed, done;
    char own[32], after[32];
    int set_rc, long_rc, short_buf_rc;
};

static void* named_thread(void* p) {
    struct naming* n = p;
    n->set_rc = pthread_setname_np(pthread_self(), "probe-worker");
    n->long_rc = pthread_setname_np(pthread_self(), "sixteen-chars-xx");
    char small[8];
    n->short_buf_rc = pthread_getname_np(pthread_self(), small, sizeof small);
    pthread_getname_np(pthread_self(), n->own, sizeof n->own);
    sem_post(&n->named);
    sem_wait(&n->renamed);
    pthread_getname_np(pthread_self(), n->after, sizeof n->after);
    sem_wait(&n->done);
    return NULL;
}

static void names(void) {
    printf("-- names\n");
    struct naming n;
    memset(&n, 0, sizeof n);
    sem_init(&n.named, 0, 0);
    sem_init(&n.renamed, 0, 0);
    sem_init(&n.done, 0, 0);
    pthread_t t = spawn(named_thread, &n);
    sem_wait(&n.named);
    check_err("  setname_np in the thread", n.set_rc, 0);
    check_err("  setname_np with 16 characters", n.long_rc, ERANGE);
    check_err("  getname_np into 8 bytes", n.short_buf_rc, ERANGE);
    check_str("  getname_np in the thread", n.own, "probe-worker");
    char seen[32] = "";
    check_err("  getname_np from main", pthread_getname_np(t, seen, sizeof seen), 0);
    check_str("  name seen from main", seen, "probe-worker");
    check_err("  setname_np from main", pthread_setname_np(t, "renamed"), 0);
    sem_post(&n.renamed);
    sleep_ms(5);
    pthread_getname_np(t, seen, sizeof seen);
    check_str("  name seen from main after renaming", seen, "renamed");
    sem_post(&n.done);
    join(t);
    check_str("  name seen by the thread after renaming", n.after, "renamed");
}

// ---------------------------------------------------------------------------
// Stack attributes.

struct stack_report {
    int contains_local;
    size_t size;
    size_t guard;
    int detached;
    void* addr;
};

static void* report_stack(void* p) {
    struct stack_report* r = p;
    int local = 0;
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) != 0) return NULL;
    void* addr = NULL;
    size_t size = 0;
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_getguardsize(&a, &r->guard);
    pthread_attr_getdetachstate(&a, &r->detached);
    pthread_attr_destroy(&a);
    r->contains_local = (char*)&local >= (char*)addr && (char*)&local < (char*)addr + size;
    r->size = size;
    r->addr = addr;
    return NULL;
}

static int recurse(int depth) {
    volatile char frame[4096];
    frame[0] = (char)depth;
    frame[4095] = (char)depth;
    if (depth == 0) return frame[0] + frame[4095];
    return recurse(depth - 1) + frame[0];
}

static void* deep(void* p) {
    (void)p;
    int want = 0;
    for (int depth = 1; depth <= 150; ++depth) want += (char)depth;
    return (void*)(long)(recurse(150) == want);  // about 600 KiB of stack
}

static void stacks(void) {
    printf("-- stack attributes\n");
    pthread_attr_t a;
    struct stack_report r;

    memset(&r, 0, sizeof r);
    join(spawn(report_stack, &r));
    check_yes("  default: getattr_np's stack holds a local", r.contains_local);

    pthread_attr_init(&a);
    check_err("  setstacksize(PTHREAD_STACK_MIN - 1)", pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN - 1), EINVAL);
    check_err("  setstacksize(1 MiB)", pthread_attr_setstacksize(&a, 1 << 20), 0);
    check_err("  setguardsize(64 KiB)", pthread_attr_setguardsize(&a, 64 << 10), 0);
    memset(&r, 0, sizeof r);
    pthread_t t;
    must(pthread_create(&t, &a, report_stack, &r), "pthread_create");
    join(t);
    check_yes("  1 MiB: getattr_np's stack holds a local", r.contains_local);
    check_yes("  1 MiB: getattr_np's stack size is at least 1 MiB", r.size >= (1u << 20));
    check_yes("  1 MiB: getattr_np's guard size is at least 64 KiB", r.guard >= (64u << 10));
    check_yes("  1 MiB: joinable", r.detached == PTHREAD_CREATE_JOINABLE);
    must(pthread_create(&t, &a, deep, NULL), "pthread_create");
    check_yes("  1 MiB: recursion through 600 KiB of stack", (long)join(t) == 1);
    pthread_attr_destroy(&a);

    const size_t size = 256 << 10;
    void* stack = NULL;
    must(posix_memalign(&stack, 65536, size), "posix_memalign");
    pthread_attr_init(&a);
    check_err("  setstack(256 KiB of our memory)", pthread_attr_setstack(&a, stack, size), 0);
    memset(&r, 0, sizeof r);
    must(pthread_create(&t, &a, report_stack, &r), "pthread_create");
    join(t);
    check_yes("  caller's stack: getattr_np's stack holds a local", r.contains_local);
    check_yes("  caller's stack: the reported stack is inside our memory",
              (char*)r.addr >= (char*)stack && (char*)r.addr + r.size <= (char*)stack + size);
    check_yes("  caller's stack: size at least 192 KiB", r.size >= (192u << 10));
    pthread_attr_destroy(&a);
    free(stack);

    pthread_attr_t main_attr;
    int local = 0;
    void* addr = NULL;
    size_t main_size = 0;
    must(pthread_getattr_np(pthread_self(), &main_attr), "getattr_np");
    pthread_attr_getstack(&main_attr, &addr, &main_size);
    pthread_attr_destroy(&main_attr);
    check_yes("  main: getattr_np's stack holds a local",
              (char*)&local >= (char*)addr && (char*)&local < (char*)addr + main_size);
}

// ---------------------------------------------------------------------------
// Detached threads and the join family.

struct gate {
    sem_t go, done;
};

static void* gated(void* p) {
    struct gate* g = p;
    sem_wait(&g->go);
    sem_post(&g->done);
    return (void*)42L;
}

static void* detached_report(void* p) {
    struct stack_report r;
    memset(&r, 0, sizeof r);
    report_stack(&r);
    *(int*)((void**)p)[1] = r.detached;
    return gated(((void**)p)[0]);
}

static void* detaches_itself(void* p) {
    pthread_detach(pthread_self());
    return gated(p);
}

static void* exits_with(void* p) {
    (void)p;
    pthread_exit((void*)7L);
}

static int join_self(void* p) {
    (void)p;
    return pthread_join(pthread_self(), NULL);
}

static void joins(void) {
    printf("-- detached threads\n");
    struct gate g;
    sem_init(&g.go, 0, 0);
    sem_init(&g.done, 0, 0);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int detached = -1;
    void* args[2] = {&g, &detached};
    pthread_t t;
    must(pthread_create(&t, &a, detached_report, args), "pthread_create");
    pthread_attr_destroy(&a);
    check_err("  join of a detached thread", pthread_join(t, NULL), EINVAL);
    check_err("  detach of a detached thread", pthread_detach(t), EINVAL);
    check_err("  pthread_kill(t, 0) of a live detached thread", pthread_kill(t, 0), 0);
    sem_post(&g.go);
    sem_wait(&g.done);
    check_yes("  getattr_np in it says detached", detached == PTHREAD_CREATE_DETACHED);

    t = spawn(gated, &g);
    check_err("  detach of a running thread", pthread_detach(t), 0);
    check_err("  join after detach", pthread_join(t, NULL), EINVAL);
    sem_post(&g.go);
    sem_wait(&g.done);

    // stunnel's exit joins threads that may have detached themselves and
    // ended meanwhile: glibc keeps their descriptors (its stack cache), so
    // the handle still says "detached".
    t = spawn(detaches_itself, &g);
    sem_post(&g.go);
    sem_wait(&g.done);
    sleep_ms(50);  // it ends
    check_err("  join of a thread that detached itself and ended", pthread_join(t, NULL), EINVAL);
    check_err("  detach of it", pthread_detach(t), EINVAL);
    check_err("  pthread_kill(t, 0) of it", pthread_kill(t, 0), 0);
    check_err("  pthread_cancel of it", pthread_cancel(t), 0);

    printf("-- join\n");
    t = spawn(gated, &g);
    check_err("  pthread_kill(t, 0) of a live thread", pthread_kill(t, 0), 0);
    check_err("  tryjoin_np while it runs", pthread_tryjoin_np(t, NULL), EBUSY);
    struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    double t0 = now();
    check_err("  timedjoin_np while it runs", pthread_timedjoin_np(t, NULL, &ts), ETIMEDOUT);
    check_took("  timedjoin_np waited 0.1 s", now() - t0, 0.1);
    ts = deadline(CLOCK_MONOTONIC, 0.1);
    t0 = now();
    check_err("  clockjoin_np(MONOTONIC) while it runs", pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    check_took("  clockjoin_np(MONOTONIC) waited 0.1 s", now() - t0, 0.1);
    ts = deadline(CLOCK_REALTIME, 0.1);
    t0 = now();
    check_err("  clockjoin_np(REALTIME) while it runs", pthread_clockjoin_np(t, NULL, CLOCK_REALTIME, &ts), ETIMEDOUT);
    check_took("  clockjoin_np(REALTIME) waited 0.1 s", now() - t0, 0.1);
    check_err("  clockjoin_np(PROCESS_CPUTIME_ID)", pthread_clockjoin_np(t, NULL, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    check_err("  join of myself", pthread_join(pthread_self(), NULL), EDEADLK);
    check_err("  join of itself from a thread", in_thread(join_self, NULL), EDEADLK);
    sem_post(&g.go);
    ts = deadline(CLOCK_REALTIME, 5);
    void* value = NULL;
    check_err("  timedjoin_np once it can end", pthread_timedjoin_np(t, &value, &ts), 0);
    check_int("  its value", (long)value, 42);

    t = spawn(exits_with, NULL);
    sleep_ms(10);
    check_err("  join of a thread that already called pthread_exit", pthread_join(t, &value), 0);
    check_int("  its value", (long)value, 7);

    t = spawn(gated, &g);
    sem_post(&g.go);
    sem_wait(&g.done);
    value = NULL;
    for (int i = 0; i < 2000; ++i) {  // it ends soon after posting done
        const int rc = pthread_tryjoin_np(t, &value);
        if (rc != EBUSY) {
            check_err("  tryjoin_np once it ended", rc, 0);
            break;
        }
        sleep_ms(1);
    }
    check_int("  its value", (long)value, 42);

    int policy = -1;
    struct sched_param sp = {.sched_priority = -1};
    check_err("  getschedparam of main", pthread_getschedparam(pthread_self(), &policy, &sp), 0);
    check_yes("  SCHED_OTHER, priority 0", policy == SCHED_OTHER && sp.sched_priority == 0);
}

// ---------------------------------------------------------------------------
// Hundreds of threads alive at once.

enum { kMany = 300 };

struct many {
    pthread_barrier_t all_alive;
    int ran;
};

static void* one_of_many(void* p) {
    struct many* m = p;
    usleep(1000);
    __atomic_add_fetch(&m->ran, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&m->all_alive);
    return NULL;
}

static void many_threads(void) {
    printf("-- %d threads\n", kMany);
    static pthread_t t[kMany];
    struct many m = {.ran = 0};
    pthread_barrier_init(&m.all_alive, NULL, kMany + 1);
    int created = 0;
    for (int i = 0; i < kMany; ++i) created += pthread_create(&t[i], NULL, one_of_many, &m) == 0;
    check_int("  created", created, kMany);
    pthread_barrier_wait(&m.all_alive);
    for (int i = 0; i < created; ++i) join(t[i]);
    check_int("  ran (all alive together at the barrier)", m.ran, kMany);
    pthread_barrier_destroy(&m.all_alive);
}

// ---------------------------------------------------------------------------
// Threads that come and go leave nothing behind on the heap.

static int come_and_go_count = 10000;  // argv[1], if given

static void* nothing(void* p) { return p; }

static sem_t s_detached_done;

static void* detached_one(void* p) {
    sem_post(&s_detached_done);
    return p;
}

// Bytes of heap in use.
static size_t heap_in_use(void) { return mallinfo2().uordblks; }

static void come_and_go(void) {
    const int n = come_and_go_count;
    printf("-- %d threads created and joined, %d detached\n", n, n);
    sem_init(&s_detached_done, 0, 0);
    for (int i = 0; i < 100; ++i) join(spawn(nothing, NULL));  // caches warm
    const size_t before = heap_in_use();
    int joined = 0, detached = 0;
    for (int i = 0; i < n; ++i) joined += join(spawn(nothing, (void*)(intptr_t)i)) == (void*)(intptr_t)i;
    for (int i = 0; i < n; ++i) {
        pthread_t t = spawn(detached_one, NULL);
        detached += pthread_detach(t) == 0;
        sem_wait(&s_detached_done);
    }
    sleep_ms(50);  // the last detached thread ends
    const size_t after = heap_in_use();
    check_int("  joined with their values", joined, n);
    check_int("  detached", detached, n);
    // A few dozen bytes a thread would be more (10000 threads: megabytes).
    check_yes("  the heap grew by less than 64 KiB", after < before + 64 * 1024);
    sem_destroy(&s_detached_done);
}

int main(int argc, char** argv) {
    watchdog(30);
    if (argc > 1) come_and_go_count = atoi(argv[1]);
    barriers();
    spinlocks();
    semaphores();
    once();
    keys();
    per_thread_state();
    identities();
    names();
    stacks();
    joins();
    many_threads();
    come_and_go();
    return finish();
}
