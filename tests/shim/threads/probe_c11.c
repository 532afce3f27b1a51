// Thread probe: C11 <threads.h>. thrd_create/join/detach/exit/sleep/yield/
// current/equal; mtx_t plain, recursive and timed (ownership seen from
// another thread, contention with a wait inside); cnd_t wait, signal,
// broadcast and timedwait; tss_t with destructors; call_once with an
// initialiser that blocks while the other threads arrive.
#include "probe_threads.h"

#include <threads.h>

static const char* tn(int rc) {
    switch (rc) {
    case thrd_success: return "thrd_success";
    case thrd_busy: return "thrd_busy";
    case thrd_timedout: return "thrd_timedout";
    case thrd_nomem: return "thrd_nomem";
    case thrd_error: return "thrd_error";
    default: return "?";
    }
}

static void check_thrd(const char* what, int got, int want) { check_str(what, tn(got), tn(want)); }

static struct timespec utc_in(double seconds) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    long ns = ts.tv_nsec + (long)(seconds * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    return ts;
}

// ---------------------------------------------------------------------------
// Threads.

static thrd_t s_seen_inside;

static int returns_its_arg(void* p) {
    s_seen_inside = thrd_current();
    thrd_yield();
    return (int)(long)p;
}

static int exits_with_7(void* p) {
    (void)p;
    thrd_exit(7);
}

static int detached_worker(void* p) {
    thrd_sleep(&(struct timespec){0, 10000000}, NULL);
    mtx_t* m = p;
    mtx_lock(m);
    mtx_unlock(m);
    return 0;
}

static void threads(void) {
    printf("-- threads\n");
    thrd_t t;
    int res = -1;
    check_thrd("  thrd_create", thrd_create(&t, returns_its_arg, (void*)41L), thrd_success);
    check_thrd("  thrd_join", thrd_join(t, &res), thrd_success);
    check_int("  result", res, 41);
    check_yes("  thrd_current inside equals the created id", thrd_equal(s_seen_inside, t));
    check_yes("  and differs from main's", !thrd_equal(s_seen_inside, thrd_current()));
    thrd_create(&t, exits_with_7, NULL);
    thrd_join(t, &res);
    check_int("  thrd_exit(7) result", res, 7);
    static mtx_t m;  // never destroyed: the detached thread may use it late
    mtx_init(&m, mtx_plain);
    thrd_create(&t, detached_worker, &m);
    check_thrd("  thrd_detach", thrd_detach(t), thrd_success);
    struct timespec rest = {1, 0};
    const double t0 = now();
    check_int("  thrd_sleep 50 ms", thrd_sleep(&(struct timespec){0, 50000000}, &rest), 0);
    check_took("  it slept 50 ms", now() - t0, 0.05);
}

// ---------------------------------------------------------------------------
// Mutexes.

static int other_trylock(void* m) {
    const int rc = mtx_trylock(m);
    if (rc == thrd_success) mtx_unlock(m);
    return rc;
}

static int other_timedlock(void* m) {
    const struct timespec ts = utc_in(0.1);
    const double t0 = now();
    const int rc = mtx_timedlock(m, &ts);
    check_took("  mtx_timedlock from another thread waited 0.1 s", now() - t0, 0.1);
    if (rc == thrd_success) mtx_unlock(m);
    return rc;
}

static int in_thrd(int (*fn)(void*), void* arg) {
    thrd_t t;
    int res = -1;
    if (thrd_create(&t, fn, arg) != thrd_success) must(-1, "thrd_create");
    thrd_join(t, &res);
    return res;
}

struct counted {
    mtx_t m;
    int value;
    int recursive;
};

static int count_up(void* p) {
    struct counted* c = p;
    for (int i = 0; i < 10; ++i) {
        mtx_lock(&c->m);
        if (c->recursive) mtx_lock(&c->m);
        const int v = c->value;
        thrd_sleep(&(struct timespec){0, 300000}, NULL);
        c->value = v + 1;
        if (c->recursive) mtx_unlock(&c->m);
        mtx_unlock(&c->m);
    }
    return 0;
}

static void contend(const char* what, int type) {
    struct counted c = {.value = 0, .recursive = (type & mtx_recursive) != 0};
    mtx_init(&c.m, type);
    thrd_t t[4];
    for (int i = 0; i < 4; ++i) thrd_create(&t[i], count_up, &c);
    for (int i = 0; i < 4; ++i) thrd_join(t[i], NULL);
    check_int(what, c.value, 40);
    mtx_destroy(&c.m);
}

static void mutexes(void) {
    printf("-- mutexes\n");
    mtx_t m;
    check_thrd("  mtx_init plain", mtx_init(&m, mtx_plain), thrd_success);
    mtx_lock(&m);
    check_thrd("  mtx_trylock from another thread", in_thrd(other_trylock, &m), thrd_busy);
    mtx_unlock(&m);
    check_thrd("  mtx_trylock from another thread once free", in_thrd(other_trylock, &m), thrd_success);
    mtx_destroy(&m);

    check_thrd("  mtx_init recursive", mtx_init(&m, mtx_plain | mtx_recursive), thrd_success);
    check_thrd("  lock", mtx_lock(&m), thrd_success);
    check_thrd("  lock again", mtx_lock(&m), thrd_success);
    check_thrd("  mtx_trylock from another thread", in_thrd(other_trylock, &m), thrd_busy);
    mtx_unlock(&m);
    check_thrd("  mtx_trylock from another thread while held once", in_thrd(other_trylock, &m), thrd_busy);
    mtx_unlock(&m);
    check_thrd("  mtx_trylock from another thread once free", in_thrd(other_trylock, &m), thrd_success);
    mtx_destroy(&m);

    check_thrd("  mtx_init timed", mtx_init(&m, mtx_timed), thrd_success);
    mtx_lock(&m);
    check_thrd("  mtx_timedlock from another thread", in_thrd(other_timedlock, &m), thrd_timedout);
    mtx_unlock(&m);
    mtx_destroy(&m);

    contend("  plain: counter after 4 threads x 10", mtx_plain);
    contend("  recursive: counter after 4 threads x 10", mtx_plain | mtx_recursive);
    contend("  timed: counter after 4 threads x 10", mtx_timed);
}

// ---------------------------------------------------------------------------
// Condition variables.

struct flagged {
    mtx_t m;
    cnd_t c;
    int flag;
    int waiting;
    int woken;
};

static int flag_waiter(void* p) {
    struct flagged* f = p;
    mtx_lock(&f->m);
    ++f->waiting;
    while (!f->flag) cnd_wait(&f->c, &f->m);
    ++f->woken;
    mtx_unlock(&f->m);
    return 0;
}

static void conditions(void) {
    printf("-- condition variables\n");
    struct flagged f = {.flag = 0};
    mtx_init(&f.m, mtx_plain);
    cnd_init(&f.c);
    thrd_t t[4];
    for (int i = 0; i < 4; ++i) thrd_create(&t[i], flag_waiter, &f);
    for (;;) {
        mtx_lock(&f.m);
        if (f.waiting == 4) break;
        mtx_unlock(&f.m);
        thrd_sleep(&(struct timespec){0, 1000000}, NULL);
    }
    f.flag = 1;
    check_thrd("  cnd_broadcast", cnd_broadcast(&f.c), thrd_success);
    mtx_unlock(&f.m);
    for (int i = 0; i < 4; ++i) thrd_join(t[i], NULL);
    check_int("  waiters woken by one broadcast", f.woken, 4);

    f.flag = 0;
    f.waiting = 0;
    thrd_create(&t[0], flag_waiter, &f);
    thrd_sleep(&(struct timespec){0, 20000000}, NULL);
    mtx_lock(&f.m);
    f.flag = 1;
    check_thrd("  cnd_signal", cnd_signal(&f.c), thrd_success);
    mtx_unlock(&f.m);
    thrd_join(t[0], NULL);
    check_int("  waiters woken", f.woken, 5);

    mtx_lock(&f.m);
    const struct timespec ts = utc_in(0.1);
    const double t0 = now();
    check_thrd("  cnd_timedwait nobody signals", cnd_timedwait(&f.c, &f.m, &ts), thrd_timedout);
    check_took("  it waited 0.1 s", now() - t0, 0.1);
    check_thrd("  mutex held on return (trylock from another thread)", in_thrd(other_trylock, &f.m), thrd_busy);
    mtx_unlock(&f.m);
    cnd_destroy(&f.c);
    mtx_destroy(&f.m);
}

// ---------------------------------------------------------------------------
// Thread-specific storage.

static tss_t s_tss;
static int s_tss_destructor_calls, s_tss_wrong;
static int s_values[4];

static void tss_destructor(void* v) {
    __atomic_add_fetch(&s_tss_destructor_calls, 1, __ATOMIC_SEQ_CST);
    if (v < (void*)&s_values[0] || v > (void*)&s_values[3]) __atomic_add_fetch(&s_tss_wrong, 1, __ATOMIC_SEQ_CST);
}

static int tss_user(void* p) {
    const int id = (int)(long)p;
    const int was_null = tss_get(s_tss) == NULL;
    tss_set(s_tss, &s_values[id]);
    thrd_sleep(&(struct timespec){0, 5000000}, NULL);  // the others set theirs meanwhile
    return was_null && tss_get(s_tss) == &s_values[id];
}

static void tss(void) {
    printf("-- thread-specific storage\n");
    check_thrd("  tss_create", tss_create(&s_tss, tss_destructor), thrd_success);
    int mine = 0;
    tss_set(s_tss, &mine);
    thrd_t t[4];
    for (int i = 0; i < 4; ++i) thrd_create(&t[i], tss_user, (void*)(long)i);
    int own = 0;
    for (int i = 0; i < 4; ++i) {
        int res = 0;
        thrd_join(t[i], &res);
        own += res;
    }
    check_int("  threads that started with NULL and kept their own value", own, 4);
    check_int("  destructor calls", s_tss_destructor_calls, 4);
    check_int("  destructor calls with a wrong value", s_tss_wrong, 0);
    check_yes("  main's value untouched", tss_get(s_tss) == &mine);
    tss_delete(s_tss);
}

// ---------------------------------------------------------------------------
// call_once.

static once_flag s_once = ONCE_FLAG_INIT;
static int s_once_runs, s_once_done;

static void slow_init(void) {
    __atomic_add_fetch(&s_once_runs, 1, __ATOMIC_SEQ_CST);
    thrd_sleep(&(struct timespec){0, 50000000}, NULL);  // the others arrive meanwhile
    __atomic_store_n(&s_once_done, 1, __ATOMIC_SEQ_CST);
}

static int once_caller(void* p) {
    (void)p;
    call_once(&s_once, slow_init);
    return __atomic_load_n(&s_once_done, __ATOMIC_SEQ_CST);
}

static void once(void) {
    printf("-- call_once\n");
    thrd_t t[4];
    for (int i = 0; i < 4; ++i) thrd_create(&t[i], once_caller, NULL);
    int saw = 0;
    for (int i = 0; i < 4; ++i) {
        int res = 0;
        thrd_join(t[i], &res);
        saw += res;
    }
    check_int("  initialiser runs", s_once_runs, 1);
    check_int("  threads that saw it done", saw, 4);
}

int main(void) {
    watchdog(30);
    threads();
    mutexes();
    conditions();
    tss();
    once();
    return finish();
}
