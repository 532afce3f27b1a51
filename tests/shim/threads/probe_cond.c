// Thread probe: condition variables. Wait and signal with the mutex held on
// return; timedwait and clockwait timeouts on both clocks (attribute and
// argument), invalid clocks and deadlines; signal wakes one waiter, broadcast
// all of them; a signal nobody waits for is lost; a timed-out waiter returns
// only once it has the mutex again; a bounded-buffer producer/consumer; a
// process-shared condition variable.
#include "probe_threads.h"

#include <sys/mman.h>

// Errorcheck mutexes throughout: unlock returning 0 proves the caller held it.
static void errorcheck_init(pthread_mutex_t* m, int pshared) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    if (pshared) pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    must(pthread_mutex_init(m, &a), "mutex_init");
    pthread_mutexattr_destroy(&a);
}

static void cond_init_clock(pthread_cond_t* c, clockid_t clock) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    must(pthread_condattr_setclock(&a, clock), "condattr_setclock");
    must(pthread_cond_init(c, &a), "cond_init");
    pthread_condattr_destroy(&a);
}

// ---------------------------------------------------------------------------
// Wait and signal.

static pthread_cond_t s_cond = PTHREAD_COND_INITIALIZER;

struct handoff {
    pthread_mutex_t m;
    pthread_cond_t* c;
    int ready;
    int wait_rc, unlock_rc, saw_ready;
};

static void* handoff_waiter(void* p) {
    struct handoff* h = p;
    must(pthread_mutex_lock(&h->m), "lock");
    while (!h->ready) {
        h->wait_rc = pthread_cond_wait(h->c, &h->m);
        if (h->wait_rc) break;
    }
    h->saw_ready = h->ready;
    h->unlock_rc = pthread_mutex_unlock(&h->m);
    return NULL;
}

static void wait_and_signal(void) {
    printf("-- wait and signal (PTHREAD_COND_INITIALIZER)\n");
    struct handoff h = {.c = &s_cond, .wait_rc = -1};
    errorcheck_init(&h.m, 0);
    pthread_t t = spawn(handoff_waiter, &h);
    sleep_ms(30);
    must(pthread_mutex_lock(&h.m), "lock");
    h.ready = 1;
    check_err("  signal", pthread_cond_signal(&s_cond), 0);
    must(pthread_mutex_unlock(&h.m), "unlock");
    join(t);
    check_err("  wait", h.wait_rc, 0);
    check_yes("  the waiter saw the change", h.saw_ready);
    check_err("  the waiter held the mutex on return (unlock)", h.unlock_rc, 0);
    pthread_mutex_destroy(&h.m);
}

// ---------------------------------------------------------------------------
// Timeouts.

enum how { TIMEDWAIT, CLOCKWAIT_MONOTONIC, CLOCKWAIT_REALTIME };

// A wait of 0.1 s nobody signals, with the deadline on `clock`.
static void timeout_case(const char* what, pthread_cond_t* c, enum how how, clockid_t clock) {
    pthread_mutex_t m;
    errorcheck_init(&m, 0);
    must(pthread_mutex_lock(&m), "lock");
    const struct timespec ts = deadline(clock, 0.1);
    const double t0 = now();
    int rc;
    if (how == TIMEDWAIT)
        rc = pthread_cond_timedwait(c, &m, &ts);
    else
        rc = pthread_cond_clockwait(c, &m, how == CLOCKWAIT_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts);
    const double took = now() - t0;
    char line[200];
    snprintf(line, sizeof line, "  %s", what);
    check_err(line, rc, ETIMEDOUT);
    snprintf(line, sizeof line, "  %s waited 0.1 s", what);
    check_took(line, took, 0.1);
    snprintf(line, sizeof line, "  %s: mutex held on return (unlock)", what);
    check_err(line, pthread_mutex_unlock(&m), 0);
    pthread_mutex_destroy(&m);
}

static void timeouts(void) {
    printf("-- timeouts\n");
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    clockid_t clock = -1;
    pthread_condattr_getclock(&a, &clock);
    check_yes("  default condattr clock is REALTIME", clock == CLOCK_REALTIME);
    check_err("  condattr_setclock(MONOTONIC)", pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
    pthread_condattr_getclock(&a, &clock);
    check_yes("  condattr clock reads back MONOTONIC", clock == CLOCK_MONOTONIC);
    check_err("  condattr_setclock(PROCESS_CPUTIME_ID)", pthread_condattr_setclock(&a, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
    pthread_condattr_destroy(&a);

    pthread_cond_t c;
    must(pthread_cond_init(&c, NULL), "cond_init");
    timeout_case("timedwait, default clock", &c, TIMEDWAIT, CLOCK_REALTIME);
    timeout_case("clockwait(MONOTONIC)", &c, CLOCKWAIT_MONOTONIC, CLOCK_MONOTONIC);
    timeout_case("clockwait(REALTIME)", &c, CLOCKWAIT_REALTIME, CLOCK_REALTIME);
    pthread_cond_destroy(&c);
    cond_init_clock(&c, CLOCK_MONOTONIC);
    timeout_case("timedwait, condattr clock MONOTONIC", &c, TIMEDWAIT, CLOCK_MONOTONIC);
    pthread_cond_destroy(&c);
    cond_init_clock(&c, CLOCK_REALTIME);
    timeout_case("timedwait, condattr clock REALTIME", &c, TIMEDWAIT, CLOCK_REALTIME);
    pthread_cond_destroy(&c);

    must(pthread_cond_init(&c, NULL), "cond_init");
    pthread_mutex_t m;
    errorcheck_init(&m, 0);
    must(pthread_mutex_lock(&m), "lock");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= 1;
    double t0 = now();
    check_err("  timedwait with a past deadline", pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
    check_str("  it returned at once", now() - t0 < 1.0 ? "yes" : "no", "yes");
    ts = deadline(CLOCK_REALTIME, 0.1);
    ts.tv_nsec = 1000000000L;
    check_err("  timedwait with tv_nsec 1e9", pthread_cond_timedwait(&c, &m, &ts), EINVAL);
    ts = deadline(CLOCK_MONOTONIC, 0.1);
    check_err("  clockwait(PROCESS_CPUTIME_ID)", pthread_cond_clockwait(&c, &m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    check_err("  mutex still held (unlock)", pthread_mutex_unlock(&m), 0);
    pthread_mutex_destroy(&m);
    pthread_cond_destroy(&c);
}

// A timed wait signalled well before its deadline returns 0 early.
static void* signal_later(void* p) {
    struct handoff* h = p;
    sleep_ms(30);
    pthread_mutex_lock(&h->m);
    h->ready = 1;
    pthread_cond_signal(h->c);
    pthread_mutex_unlock(&h->m);
    return NULL;
}

static void signalled_before_deadline(void) {
    printf("-- signalled before the deadline\n");
    pthread_cond_t c;
    cond_init_clock(&c, CLOCK_MONOTONIC);
    struct handoff h = {.c = &c};
    errorcheck_init(&h.m, 0);
    must(pthread_mutex_lock(&h.m), "lock");
    pthread_t t = spawn(signal_later, &h);
    const struct timespec ts = deadline(CLOCK_MONOTONIC, 5.0);
    const double t0 = now();
    int rc = 0;
    while (!h.ready && rc == 0) rc = pthread_cond_timedwait(&c, &h.m, &ts);
    check_err("  timedwait with a 5 s deadline, signalled after 30 ms", rc, 0);
    check_str("  returned before the deadline", now() - t0 < 4.0 ? "yes" : "no", "yes");
    check_err("  mutex held (unlock)", pthread_mutex_unlock(&h.m), 0);
    join(t);
    pthread_mutex_destroy(&h.m);
    pthread_cond_destroy(&c);
}

// A waiter whose timeout expires while another thread holds the mutex returns
// only after it got the mutex back.
struct late {
    pthread_mutex_t m;
    pthread_cond_t c;
    int waiting;
    int released;
    int rc, saw_released;
};

static void* timed_waiter(void* p) {
    struct late* l = p;
    pthread_mutex_lock(&l->m);
    l->waiting = 1;
    const struct timespec ts = deadline(CLOCK_REALTIME, 0.05);
    l->rc = pthread_cond_timedwait(&l->c, &l->m, &ts);
    l->saw_released = __atomic_load_n(&l->released, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&l->m);
    return NULL;
}

static void timeout_needs_the_mutex(void) {
    printf("-- timeout while another thread holds the mutex\n");
    struct late l = {.rc = -1};
    errorcheck_init(&l.m, 0);
    pthread_cond_init(&l.c, NULL);
    pthread_t t = spawn(timed_waiter, &l);
    for (;;) {  // until the waiter is in timedwait (it released the mutex)
        pthread_mutex_lock(&l.m);
        if (l.waiting) break;
        pthread_mutex_unlock(&l.m);
        sleep_ms(1);
    }
    sleep_ms(150);  // its 50 ms deadline passes while we hold the mutex
    __atomic_store_n(&l.released, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&l.m);
    join(t);
    check_err("  timedwait", l.rc, ETIMEDOUT);
    check_yes("  it returned only after the mutex was released", l.saw_released);
    pthread_mutex_destroy(&l.m);
    pthread_cond_destroy(&l.c);
}

// ---------------------------------------------------------------------------
// Signal and broadcast.

enum { kWaiters = 5 };

struct crowd {
    pthread_mutex_t m;
    pthread_cond_t c;     // waiters wait here
    pthread_cond_t done;  // main waits here
    int waiting;          // waiters inside pthread_cond_wait (counted under m)
    int tokens;           // each waiter takes one and leaves
    int taken;
    int generation;       // broadcast round
    int returned;
};

static void* token_waiter(void* p) {
    struct crowd* cr = p;
    pthread_mutex_lock(&cr->m);
    ++cr->waiting;
    pthread_cond_signal(&cr->done);
    while (cr->tokens == 0) pthread_cond_wait(&cr->c, &cr->m);
    --cr->tokens;
    --cr->waiting;
    ++cr->taken;
    pthread_cond_signal(&cr->done);
    pthread_mutex_unlock(&cr->m);
    return NULL;
}

static void* generation_waiter(void* p) {
    struct crowd* cr = p;
    pthread_mutex_lock(&cr->m);
    const int mine = cr->generation;
    ++cr->waiting;
    pthread_cond_signal(&cr->done);
    while (cr->generation == mine) pthread_cond_wait(&cr->c, &cr->m);
    ++cr->returned;
    pthread_cond_signal(&cr->done);
    pthread_mutex_unlock(&cr->m);
    return NULL;
}

static void wait_until(struct crowd* cr, int* field, int value) {
    while (*field != value) pthread_cond_wait(&cr->done, &cr->m);
}

static void signal_and_broadcast(void) {
    printf("-- signal and broadcast\n");
    struct crowd cr;
    memset(&cr, 0, sizeof cr);
    pthread_mutex_init(&cr.m, NULL);
    pthread_cond_init(&cr.c, NULL);
    pthread_cond_init(&cr.done, NULL);
    pthread_t t[kWaiters];
    for (int i = 0; i < kWaiters; ++i) t[i] = spawn(token_waiter, &cr);
    pthread_mutex_lock(&cr.m);
    wait_until(&cr, &cr.waiting, kWaiters);
    cr.tokens = 1;
    pthread_cond_signal(&cr.c);
    wait_until(&cr, &cr.taken, 1);
    pthread_mutex_unlock(&cr.m);
    sleep_ms(30);
    pthread_mutex_lock(&cr.m);
    check_int("  one signal, one token: waiters that left", cr.taken, 1);
    check_int("  still waiting", cr.waiting, kWaiters - 1);
    cr.tokens = kWaiters - 1;
    pthread_cond_broadcast(&cr.c);
    wait_until(&cr, &cr.taken, kWaiters);
    check_int("  after a broadcast with a token each: waiters that left", cr.taken, kWaiters);
    pthread_mutex_unlock(&cr.m);
    for (int i = 0; i < kWaiters; ++i) join(t[i]);

    // Broadcast wakes every waiter of the round, signal by signal one at a time.
    cr.waiting = 0;
    for (int i = 0; i < kWaiters; ++i) t[i] = spawn(generation_waiter, &cr);
    pthread_mutex_lock(&cr.m);
    wait_until(&cr, &cr.waiting, kWaiters);
    ++cr.generation;
    pthread_cond_broadcast(&cr.c);
    wait_until(&cr, &cr.returned, kWaiters);
    check_int("  one broadcast: waiters returned", cr.returned, kWaiters);
    pthread_mutex_unlock(&cr.m);
    for (int i = 0; i < kWaiters; ++i) join(t[i]);

    cr.waiting = 0;
    cr.returned = 0;
    for (int i = 0; i < kWaiters; ++i) t[i] = spawn(generation_waiter, &cr);
    pthread_mutex_lock(&cr.m);
    wait_until(&cr, &cr.waiting, kWaiters);
    ++cr.generation;
    for (int i = 1; i <= kWaiters; ++i) {
        pthread_cond_signal(&cr.c);
        wait_until(&cr, &cr.returned, i);
    }
    check_int("  a signal each: waiters returned", cr.returned, kWaiters);
    pthread_mutex_unlock(&cr.m);
    for (int i = 0; i < kWaiters; ++i) join(t[i]);

    // A signal with nobody waiting is not remembered.
    pthread_cond_signal(&cr.c);
    pthread_cond_broadcast(&cr.c);
    pthread_mutex_lock(&cr.m);
    const struct timespec ts = deadline(CLOCK_REALTIME, 0.05);
    check_err("  wait after a signal nobody waited for", pthread_cond_timedwait(&cr.c, &cr.m, &ts), ETIMEDOUT);
    pthread_mutex_unlock(&cr.m);
    check_err("  destroy", pthread_cond_destroy(&cr.c), 0);
    pthread_cond_destroy(&cr.done);
    pthread_mutex_destroy(&cr.m);
}

// ---------------------------------------------------------------------------
// Producer/consumer over a bounded buffer.

enum { kSlots = 4, kProducers = 3, kConsumers = 2, kItems = 200 };

struct buffer {
    pthread_mutex_t m;
    pthread_cond_t not_full, not_empty;
    int items[kSlots];
    int head, count;
    int closed;
    int full_waits;
};

struct consumer_result {
    struct buffer* b;
    long sum;
    int count;
    int last[kProducers];
    int out_of_order;
};

static void* producer(void* p) {
    struct buffer* b = ((void**)p)[0];
    const int id = (int)(long)((void**)p)[1];
    for (int i = 1; i <= kItems; ++i) {
        pthread_mutex_lock(&b->m);
        while (b->count == kSlots) {
            ++b->full_waits;
            pthread_cond_wait(&b->not_full, &b->m);
        }
        b->items[(b->head + b->count) % kSlots] = id * 1000 + i;
        ++b->count;
        pthread_cond_signal(&b->not_empty);
        pthread_mutex_unlock(&b->m);
        if (i % 50 == 0) usleep(200);
    }
    return NULL;
}

static void* consumer(void* p) {
    struct consumer_result* r = p;
    struct buffer* b = r->b;
    for (;;) {
        pthread_mutex_lock(&b->m);
        while (b->count == 0 && !b->closed) pthread_cond_wait(&b->not_empty, &b->m);
        if (b->count == 0) {
            pthread_mutex_unlock(&b->m);
            return NULL;
        }
        const int item = b->items[b->head];
        b->head = (b->head + 1) % kSlots;
        --b->count;
        pthread_cond_signal(&b->not_full);
        pthread_mutex_unlock(&b->m);
        r->sum += item;
        ++r->count;
        const int from = item / 1000, seq = item % 1000;
        if (seq <= r->last[from]) ++r->out_of_order;
        r->last[from] = seq;
    }
}

static void producer_consumer(void) {
    printf("-- producer/consumer, %d producers, %d consumers, %d slots\n", kProducers, kConsumers, kSlots);
    struct buffer b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.m, NULL);
    pthread_cond_init(&b.not_full, NULL);
    pthread_cond_init(&b.not_empty, NULL);
    struct consumer_result results[kConsumers];
    memset(results, 0, sizeof results);
    pthread_t consumers[kConsumers], producers[kProducers];
    void* args[kProducers][2];
    for (int i = 0; i < kProducers; ++i) {
        args[i][0] = &b;
        args[i][1] = (void*)(long)i;
        producers[i] = spawn(producer, args[i]);
    }
    sleep_ms(20);  // the producers fill the buffer and wait
    for (int i = 0; i < kConsumers; ++i) {
        results[i].b = &b;
        consumers[i] = spawn(consumer, &results[i]);
    }
    for (int i = 0; i < kProducers; ++i) join(producers[i]);
    pthread_mutex_lock(&b.m);
    b.closed = 1;
    pthread_cond_broadcast(&b.not_empty);
    pthread_mutex_unlock(&b.m);
    long sum = 0, want = 0;
    int count = 0, out_of_order = 0;
    for (int i = 0; i < kConsumers; ++i) {
        join(consumers[i]);
        sum += results[i].sum;
        count += results[i].count;
        out_of_order += results[i].out_of_order;
    }
    for (int p = 0; p < kProducers; ++p)
        for (int i = 1; i <= kItems; ++i) want += p * 1000 + i;
    check_int("  items consumed", count, kProducers * kItems);
    check_yes("  sum of the items is right", sum == want);
    check_int("  items seen out of their producer's order", out_of_order, 0);
    check_yes("  producers waited for a free slot", b.full_waits > 0);
}

// ---------------------------------------------------------------------------
// A process-shared condition variable and mutex in shared memory.

static void process_shared(void) {
    printf("-- process-shared\n");
    struct handoff* h = mmap(NULL, sizeof *h + sizeof(pthread_cond_t), PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED) must(-1, "mmap");
    pthread_cond_t* c = (pthread_cond_t*)(h + 1);
    errorcheck_init(&h->m, 1);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    must(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "condattr_setpshared");
    must(pthread_cond_init(c, &a), "cond_init");
    pthread_condattr_destroy(&a);
    h->c = c;
    h->wait_rc = -1;
    pthread_t t = spawn(handoff_waiter, h);
    sleep_ms(20);
    pthread_mutex_lock(&h->m);
    h->ready = 1;
    pthread_cond_broadcast(c);
    pthread_mutex_unlock(&h->m);
    join(t);
    check_err("  wait", h->wait_rc, 0);
    check_yes("  the waiter saw the change", h->saw_ready);
    check_err("  the waiter held the mutex on return (unlock)", h->unlock_rc, 0);
    pthread_cond_destroy(c);
    pthread_mutex_destroy(&h->m);
    munmap(h, sizeof *h + sizeof(pthread_cond_t));
}

int main(void) {
    watchdog(30);
    wait_and_signal();
    timeouts();
    signalled_before_deadline();
    timeout_needs_the_mutex();
    signal_and_broadcast();
    producer_consumer();
    process_shared();
    return finish();
}
