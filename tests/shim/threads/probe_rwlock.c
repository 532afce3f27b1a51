// Thread probe: read-write locks. Readers hold the lock together, writers
// alone (with waits inside the critical sections); try, timed and clock
// variants from another thread (EBUSY, ETIMEDOUT, never EDEADLK); self
// deadlock EDEADLK; what each kind does with a new reader while a writer
// waits (the reader-preferring kinds let it in, PREFER_WRITER_NONRECURSIVE
// makes it wait, and the writer goes first); static initialisers.
#include "probe_threads.h"

static void init_kind(pthread_rwlock_t* l, int kind) {
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    must(pthread_rwlockattr_setkind_np(&a, kind), "rwlockattr_setkind_np");
    must(pthread_rwlock_init(l, &a), "rwlock_init");
    pthread_rwlockattr_destroy(&a);
}

// ---------------------------------------------------------------------------
// Readers together.

enum { kReaders = 4 };

struct together {
    pthread_rwlock_t* l;
    pthread_mutex_t m;
    pthread_cond_t c;
    int holding;
    int all_seen;
};

static void* together_reader(void* p) {
    struct together* t = p;
    must(pthread_rwlock_rdlock(t->l), "rdlock");
    pthread_mutex_lock(&t->m);
    ++t->holding;
    pthread_cond_broadcast(&t->c);
    const struct timespec ts = deadline(CLOCK_REALTIME, 5.0);
    int rc = 0;
    while (t->holding < kReaders && rc == 0) rc = pthread_cond_timedwait(&t->c, &t->m, &ts);
    if (t->holding == kReaders) ++t->all_seen;
    pthread_mutex_unlock(&t->m);
    must(pthread_rwlock_unlock(t->l), "unlock");
    return NULL;
}

static void readers_together(pthread_rwlock_t* l, const char* name) {
    struct together t = {.l = l};
    pthread_mutex_init(&t.m, NULL);
    pthread_cond_init(&t.c, NULL);
    pthread_t th[kReaders];
    for (int i = 0; i < kReaders; ++i) th[i] = spawn(together_reader, &t);
    for (int i = 0; i < kReaders; ++i) join(th[i]);
    char what[160];
    snprintf(what, sizeof what, "%s: readers that saw all %d readers inside at once", name, kReaders);
    check_int(what, t.all_seen, kReaders);
}

// ---------------------------------------------------------------------------
// Writers alone, readers never beside a writer.

struct mixed {
    pthread_rwlock_t* l;
    int writers_inside, readers_inside;
    int writer_overlaps, reader_saw_writer;
    int value;
    int reads;
};

static void* mixed_writer(void* p) {
    struct mixed* x = p;
    for (int i = 0; i < 10; ++i) {
        must(pthread_rwlock_wrlock(x->l), "wrlock");
        if (__atomic_add_fetch(&x->writers_inside, 1, __ATOMIC_SEQ_CST) != 1 ||
            __atomic_load_n(&x->readers_inside, __ATOMIC_SEQ_CST) != 0)
            __atomic_add_fetch(&x->writer_overlaps, 1, __ATOMIC_SEQ_CST);
        const int v = x->value;
        if (i % 2)
            usleep(300);
        else
            ticker_wait();
        x->value = v + 1;
        __atomic_sub_fetch(&x->writers_inside, 1, __ATOMIC_SEQ_CST);
        must(pthread_rwlock_unlock(x->l), "unlock");
    }
    return NULL;
}

static void* mixed_reader(void* p) {
    struct mixed* x = p;
    for (int i = 0; i < 10; ++i) {
        must(pthread_rwlock_rdlock(x->l), "rdlock");
        __atomic_add_fetch(&x->readers_inside, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&x->writers_inside, __ATOMIC_SEQ_CST) != 0)
            __atomic_add_fetch(&x->reader_saw_writer, 1, __ATOMIC_SEQ_CST);
        usleep(200);
        if (__atomic_load_n(&x->writers_inside, __ATOMIC_SEQ_CST) != 0)
            __atomic_add_fetch(&x->reader_saw_writer, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&x->reads, 1, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&x->readers_inside, 1, __ATOMIC_SEQ_CST);
        must(pthread_rwlock_unlock(x->l), "unlock");
    }
    return NULL;
}

static void writers_alone(pthread_rwlock_t* l, const char* name) {
    struct mixed x = {.l = l};
    pthread_t w[2], r[3];
    for (int i = 0; i < 2; ++i) w[i] = spawn(mixed_writer, &x);
    for (int i = 0; i < 3; ++i) r[i] = spawn(mixed_reader, &x);
    for (int i = 0; i < 2; ++i) join(w[i]);
    for (int i = 0; i < 3; ++i) join(r[i]);
    char what[160];
    snprintf(what, sizeof what, "%s: value after 2 writers x 10", name);
    check_int(what, x.value, 20);
    snprintf(what, sizeof what, "%s: reads", name);
    check_int(what, x.reads, 30);
    snprintf(what, sizeof what, "%s: writer beside another thread", name);
    check_int(what, x.writer_overlaps, 0);
    snprintf(what, sizeof what, "%s: reader beside a writer", name);
    check_int(what, x.reader_saw_writer, 0);
}

// ---------------------------------------------------------------------------
// Try, timed and clock variants from another thread.

static int other_tryrdlock(void* l) {
    const int rc = pthread_rwlock_tryrdlock(l);
    if (rc == 0) pthread_rwlock_unlock(l);
    return rc;
}

static int other_trywrlock(void* l) {
    const int rc = pthread_rwlock_trywrlock(l);
    if (rc == 0) pthread_rwlock_unlock(l);
    return rc;
}

enum timed { TIMEDRD, TIMEDWR, CLOCKRD_MONO, CLOCKRD_REAL, CLOCKWR_MONO, CLOCKWR_REAL };
static const char* const kTimedNames[] = {"timedrdlock", "timedwrlock", "clockrdlock(MONOTONIC)",
                                          "clockrdlock(REALTIME)", "clockwrlock(MONOTONIC)", "clockwrlock(REALTIME)"};

struct timed_call {
    pthread_rwlock_t* l;
    enum timed how;
};

static int other_timed(void* p) {
    struct timed_call* c = p;
    const clockid_t clock = c->how == CLOCKRD_MONO || c->how == CLOCKWR_MONO ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    const struct timespec ts = deadline(clock, 0.1);
    const double t0 = now();
    int rc = -1;
    switch (c->how) {
    case TIMEDRD: rc = pthread_rwlock_timedrdlock(c->l, &ts); break;
    case TIMEDWR: rc = pthread_rwlock_timedwrlock(c->l, &ts); break;
    case CLOCKRD_MONO:
    case CLOCKRD_REAL: rc = pthread_rwlock_clockrdlock(c->l, clock, &ts); break;
    case CLOCKWR_MONO:
    case CLOCKWR_REAL: rc = pthread_rwlock_clockwrlock(c->l, clock, &ts); break;
    }
    char what[160];
    snprintf(what, sizeof what, "  %s from another thread waited 0.1 s", kTimedNames[c->how]);
    check_took(what, now() - t0, 0.1);
    if (rc == 0) pthread_rwlock_unlock(c->l);
    return rc;
}

static void timed_from_other(pthread_rwlock_t* l, enum timed how, int want) {
    struct timed_call c = {l, how};
    char what[160];
    snprintf(what, sizeof what, "  %s from another thread", kTimedNames[how]);
    check_err(what, in_thread(other_timed, &c), want);
}

static int other_bad_clock(void* l) {
    const struct timespec ts = deadline(CLOCK_MONOTONIC, 0.1);
    return pthread_rwlock_clockwrlock(l, CLOCK_PROCESS_CPUTIME_ID, &ts);
}

static int other_bad_nsec(void* l) {
    struct timespec ts = deadline(CLOCK_REALTIME, 0.1);
    ts.tv_nsec = 1000000000L;
    return pthread_rwlock_timedrdlock(l, &ts);
}

// A writer blocks in wrlock while main reads; it gets the lock only after main let go.
struct handover {
    pthread_rwlock_t* l;
    int released, saw_release, rc;
};

static void* blocking_writer(void* p) {
    struct handover* h = p;
    h->rc = pthread_rwlock_wrlock(h->l);
    h->saw_release = __atomic_load_n(&h->released, __ATOMIC_SEQ_CST);
    if (h->rc == 0) pthread_rwlock_unlock(h->l);
    return NULL;
}

static void* blocking_reader(void* p) {
    struct handover* h = p;
    h->rc = pthread_rwlock_rdlock(h->l);
    h->saw_release = __atomic_load_n(&h->released, __ATOMIC_SEQ_CST);
    if (h->rc == 0) pthread_rwlock_unlock(h->l);
    return NULL;
}

static void handover(pthread_rwlock_t* l, int main_writes) {
    struct handover h = {l, 0, 0, -1};
    must(main_writes ? pthread_rwlock_wrlock(l) : pthread_rwlock_rdlock(l), "lock");
    pthread_t t = spawn(main_writes ? blocking_reader : blocking_writer, &h);
    sleep_ms(50);
    __atomic_store_n(&h.released, 1, __ATOMIC_SEQ_CST);
    must(pthread_rwlock_unlock(l), "unlock");
    join(t);
    check_err(main_writes ? "  rdlock from another thread while main writes (blocks)"
                          : "  wrlock from another thread while main reads (blocks)",
              h.rc, 0);
    check_yes("  it got the lock only after main released it", h.saw_release);
}

static void ownership(void) {
    printf("-- main reads\n");
    pthread_rwlock_t l;
    must(pthread_rwlock_init(&l, NULL), "rwlock_init");
    check_err("  rdlock", pthread_rwlock_rdlock(&l), 0);
    check_err("  rdlock again (recursive read)", pthread_rwlock_rdlock(&l), 0);
    check_err("  tryrdlock by the reader", pthread_rwlock_tryrdlock(&l), 0);
    check_err("  trywrlock by the reader", pthread_rwlock_trywrlock(&l), EBUSY);
    check_err("  tryrdlock from another thread", in_thread(other_tryrdlock, &l), 0);
    check_err("  trywrlock from another thread", in_thread(other_trywrlock, &l), EBUSY);
    timed_from_other(&l, TIMEDWR, ETIMEDOUT);
    timed_from_other(&l, CLOCKWR_MONO, ETIMEDOUT);
    timed_from_other(&l, CLOCKWR_REAL, ETIMEDOUT);
    check_err("  clockwrlock(PROCESS_CPUTIME_ID) from another thread", in_thread(other_bad_clock, &l), EINVAL);
    for (int i = 0; i < 3; ++i) must(pthread_rwlock_unlock(&l), "unlock");
    handover(&l, 0);

    printf("-- main writes\n");
    check_err("  wrlock", pthread_rwlock_wrlock(&l), 0);
    check_err("  wrlock again", pthread_rwlock_wrlock(&l), EDEADLK);
    check_err("  rdlock by the writer", pthread_rwlock_rdlock(&l), EDEADLK);
    check_err("  trywrlock by the writer", pthread_rwlock_trywrlock(&l), EBUSY);
    check_err("  tryrdlock by the writer", pthread_rwlock_tryrdlock(&l), EBUSY);
    check_err("  tryrdlock from another thread", in_thread(other_tryrdlock, &l), EBUSY);
    check_err("  trywrlock from another thread", in_thread(other_trywrlock, &l), EBUSY);
    timed_from_other(&l, TIMEDRD, ETIMEDOUT);
    timed_from_other(&l, TIMEDWR, ETIMEDOUT);
    timed_from_other(&l, CLOCKRD_MONO, ETIMEDOUT);
    timed_from_other(&l, CLOCKRD_REAL, ETIMEDOUT);
    timed_from_other(&l, CLOCKWR_MONO, ETIMEDOUT);
    check_err("  timedrdlock with tv_nsec 1e9 from another thread", in_thread(other_bad_nsec, &l), EINVAL);
    check_err("  unlock", pthread_rwlock_unlock(&l), 0);
    handover(&l, 1);
    check_err("  destroy", pthread_rwlock_destroy(&l), 0);
}

// ---------------------------------------------------------------------------
// A new reader while a writer waits, by kind.

struct scene {
    pthread_rwlock_t l;
    pthread_mutex_t m;
    pthread_cond_t c;
    int release_reader;
    int order;
    int writer_rc, writer_seq;
    int late_rc, late_seq;
};

static void* first_reader(void* p) {
    struct scene* s = p;
    must(pthread_rwlock_rdlock(&s->l), "rdlock");
    pthread_mutex_lock(&s->m);
    s->order = 0;
    pthread_cond_broadcast(&s->c);
    while (!s->release_reader) pthread_cond_wait(&s->c, &s->m);
    pthread_mutex_unlock(&s->m);
    must(pthread_rwlock_unlock(&s->l), "unlock");
    return NULL;
}

static void* waiting_writer(void* p) {
    struct scene* s = p;
    s->writer_rc = pthread_rwlock_wrlock(&s->l);
    s->writer_seq = __atomic_add_fetch(&s->order, 1, __ATOMIC_SEQ_CST);
    if (s->writer_rc == 0) pthread_rwlock_unlock(&s->l);
    return NULL;
}

static void* late_reader(void* p) {
    struct scene* s = p;
    const struct timespec ts = deadline(CLOCK_REALTIME, 3.0);
    s->late_rc = pthread_rwlock_timedrdlock(&s->l, &ts);
    s->late_seq = __atomic_add_fetch(&s->order, 1, __ATOMIC_SEQ_CST);
    if (s->late_rc == 0) pthread_rwlock_unlock(&s->l);
    return NULL;
}

static void new_reader_while_writer_waits(const char* name, int kind, int readers_first) {
    printf("-- %s: a new reader while a writer waits\n", name);
    struct scene s;
    memset(&s, 0, sizeof s);
    s.order = -1;
    init_kind(&s.l, kind);
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, kind);
    int got = -1;
    pthread_rwlockattr_getkind_np(&a, &got);
    check_yes("  kind reads back", got == kind);
    pthread_rwlockattr_destroy(&a);
    pthread_mutex_init(&s.m, NULL);
    pthread_cond_init(&s.c, NULL);
    pthread_t reader = spawn(first_reader, &s);
    pthread_mutex_lock(&s.m);
    while (s.order != 0) pthread_cond_wait(&s.c, &s.m);
    pthread_mutex_unlock(&s.m);
    pthread_t writer = spawn(waiting_writer, &s);
    if (readers_first) {
        sleep_ms(50);  // the writer is waiting by now (if not, a reader gets in all the same)
        check_err("  tryrdlock from main", pthread_rwlock_tryrdlock(&s.l), 0);
        pthread_rwlock_unlock(&s.l);
        pthread_t late = spawn(late_reader, &s);
        join(late);
        check_err("  timedrdlock from a new thread", s.late_rc, 0);
        s.release_reader = 1;
        pthread_mutex_lock(&s.m);
        pthread_cond_broadcast(&s.c);
        pthread_mutex_unlock(&s.m);
        join(reader);
        join(writer);
        check_err("  the writer's wrlock", s.writer_rc, 0);
        check_str("  who got in first", s.late_seq < s.writer_seq ? "the new reader" : "the writer", "the new reader");
    } else {
        // Until the writer waits, readers still get in; then they must wait.
        int rc = 0;
        const double t0 = now();
        while (now() - t0 < 3.0 && (rc = pthread_rwlock_tryrdlock(&s.l)) == 0) {
            pthread_rwlock_unlock(&s.l);
            sleep_ms(1);
        }
        check_err("  tryrdlock from main once the writer waits", rc, EBUSY);
        const struct timespec ts = deadline(CLOCK_MONOTONIC, 0.05);
        check_err("  clockrdlock(MONOTONIC) 50 ms from main", pthread_rwlock_clockrdlock(&s.l, CLOCK_MONOTONIC, &ts),
                  ETIMEDOUT);
        pthread_t late = spawn(late_reader, &s);
        sleep_ms(20);
        s.release_reader = 1;
        pthread_mutex_lock(&s.m);
        pthread_cond_broadcast(&s.c);
        pthread_mutex_unlock(&s.m);
        join(reader);
        join(writer);
        join(late);
        check_err("  the writer's wrlock", s.writer_rc, 0);
        check_err("  the new reader's timedrdlock", s.late_rc, 0);
        check_str("  who got in first", s.late_seq < s.writer_seq ? "the new reader" : "the writer", "the writer");
    }
    pthread_rwlock_destroy(&s.l);
    pthread_mutex_destroy(&s.m);
    pthread_cond_destroy(&s.c);
}

// A lock the program used before its first thread (OpenSSL takes read-write
// locks as it initialises), taken for writing by a thread afterwards.
static pthread_rwlock_t s_early = PTHREAD_RWLOCK_INITIALIZER;

static int write_early_lock(void* unused) {
    (void)unused;
    const int rc = pthread_rwlock_trywrlock(&s_early);
    if (rc == 0) pthread_rwlock_unlock(&s_early);
    return rc;
}

int main(void) {
    watchdog(30);
    must(pthread_rwlock_wrlock(&s_early), "wrlock before any thread");
    must(pthread_rwlock_unlock(&s_early), "unlock before any thread");
    must(pthread_rwlock_rdlock(&s_early), "rdlock before any thread");
    must(pthread_rwlock_unlock(&s_early), "unlock before any thread");
    check_err("trywrlock from a thread of a lock used before the first thread", in_thread(write_early_lock, NULL), 0);
    ticker_start(500);
    pthread_rwlock_t l;
    must(pthread_rwlock_init(&l, NULL), "rwlock_init");
    readers_together(&l, "default");
    writers_alone(&l, "default");
    pthread_rwlock_destroy(&l);
    init_kind(&l, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    readers_together(&l, "PREFER_WRITER_NONRECURSIVE");
    writers_alone(&l, "PREFER_WRITER_NONRECURSIVE");
    pthread_rwlock_destroy(&l);
    static pthread_rwlock_t s_default = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_rwlock_t s_writer = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    readers_together(&s_default, "PTHREAD_RWLOCK_INITIALIZER");
    writers_alone(&s_default, "PTHREAD_RWLOCK_INITIALIZER");
    readers_together(&s_writer, "PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP");
    writers_alone(&s_writer, "PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP");
    ticker_stop();

    ownership();

    new_reader_while_writer_waits("default kind", PTHREAD_RWLOCK_DEFAULT_NP, 1);
    new_reader_while_writer_waits("PREFER_READER_NP", PTHREAD_RWLOCK_PREFER_READER_NP, 1);
    new_reader_while_writer_waits("PREFER_WRITER_NP (glibc: as PREFER_READER)", PTHREAD_RWLOCK_PREFER_WRITER_NP, 1);
    new_reader_while_writer_waits("PREFER_WRITER_NONRECURSIVE_NP", PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, 0);
    return finish();
}
