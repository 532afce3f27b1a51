// Thread probe: contention by thousands of threads on shared pthread objects
// (mutex, condition variables, semaphores, a barrier, a futex word, a
// read-write lock). Under greenrun --threads=N they are green threads spread
// over N carriers, so every object is shared across carriers: the counts must
// come out exact, no wake-up may be lost (a lost one hangs the probe until its
// watchdog fires) and nothing may deadlock.
#include "probe_threads.h"

#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>

enum { kThreads = 2000, kLocks = 100, kItems = 50, kQueue = 16, kLaps = 3, kBarriers = 10, kFutexLocks = 100, kRw = 50 };

static pthread_barrier_t s_phase;  // every thread, between phases

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static long s_counter;

static pthread_mutex_t s_queue_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_not_empty = PTHREAD_COND_INITIALIZER, s_not_full = PTHREAD_COND_INITIALIZER;
static long s_queue[kQueue];
static int s_head, s_count;
static long s_consumed_sum, s_consumed;

static sem_t s_ring[kThreads];
static atomic_int s_laps;

static sem_t s_tokens;
static atomic_int s_posting_done;
static long s_tokens_taken;

static atomic_int s_serial;

static atomic_uint s_futex;  // 0 free, 1 held, 2 held with waiters
static long s_futex_counter;

static pthread_rwlock_t s_rw = PTHREAD_RWLOCK_INITIALIZER;
static long s_rw_a, s_rw_b;
static atomic_int s_torn;

static void futex_lock(void) {
    unsigned c = 0;
    if (atomic_compare_exchange_strong(&s_futex, &c, 1)) return;
    if (c != 2) c = atomic_exchange(&s_futex, 2);
    while (c != 0) {
        syscall(SYS_futex, &s_futex, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange(&s_futex, 2);
    }
}

static void futex_unlock(void) {
    if (atomic_exchange(&s_futex, 0) == 2) syscall(SYS_futex, &s_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void* worker(void* p) {
    const long i = (long)p;
    for (int r = 0; r < kLocks; ++r) {
        pthread_mutex_lock(&s_mutex);
        const long seen = s_counter;
        if (r % 16 == 0) sched_yield();  // held across a switch now and then
        s_counter = seen + 1;
        pthread_mutex_unlock(&s_mutex);
    }
    pthread_barrier_wait(&s_phase);

    // Even threads produce kItems each, odd ones consume as many.
    for (int r = 0; r < kItems; ++r) {
        pthread_mutex_lock(&s_queue_mutex);
        if (i % 2 == 0) {
            while (s_count == kQueue) pthread_cond_wait(&s_not_full, &s_queue_mutex);
            s_queue[(s_head + s_count++) % kQueue] = i * kItems + r;
            pthread_cond_signal(&s_not_empty);
        } else {
            while (s_count == 0) pthread_cond_wait(&s_not_empty, &s_queue_mutex);
            s_consumed_sum += s_queue[s_head];
            s_head = (s_head + 1) % kQueue;
            --s_count;
            ++s_consumed;
            pthread_cond_signal(&s_not_full);
        }
        pthread_mutex_unlock(&s_queue_mutex);
    }
    pthread_barrier_wait(&s_phase);

    // A token goes around the ring of semaphores kLaps times.
    for (int lap = 0; lap < kLaps; ++lap) {
        if (i != 0 || lap != 0) sem_wait(&s_ring[i]);
        if (i == kThreads - 1) atomic_fetch_add(&s_laps, 1);
        sem_post(&s_ring[(i + 1) % kThreads]);
    }
    pthread_barrier_wait(&s_phase);

    for (int r = 0; r < kBarriers; ++r)
        if (pthread_barrier_wait(&s_phase) == PTHREAD_BARRIER_SERIAL_THREAD) atomic_fetch_add(&s_serial, 1);

    for (int r = 0; r < kFutexLocks; ++r) {
        futex_lock();
        const long seen = s_futex_counter;
        if (r % 16 == 0) sched_yield();
        s_futex_counter = seen + 1;
        futex_unlock();
    }
    pthread_barrier_wait(&s_phase);

    // One thread in ten writes both fields; the others check they match.
    for (int r = 0; r < kRw; ++r) {
        if (i % 10 == 0) {
            pthread_rwlock_wrlock(&s_rw);
            ++s_rw_a;
            if (r % 8 == 0) sched_yield();
            ++s_rw_b;
            pthread_rwlock_unlock(&s_rw);
        } else {
            pthread_rwlock_rdlock(&s_rw);
            const long a = s_rw_a;
            if (r % 8 == 0) sched_yield();
            if (s_rw_b != a) atomic_fetch_add(&s_torn, 1);
            pthread_rwlock_unlock(&s_rw);
        }
    }
    return NULL;
}

// Tokens race between two threads (on two carriers under --threads=2): one
// posts a token whenever the last one is gone; the other takes them with waits
// of a few microseconds that keep timing out just as a post arrives. None may
// be lost: a wait that timed out but took the token must say so.
enum { kTokens = 100000 };

static void* post_tokens(void* unused) {
    (void)unused;
    unsigned seed = 1;
    for (int r = 0; r < kTokens; ++r) {
        sem_post(&s_tokens);
        int left = 1;
        for (int spin = 0; left > 0 && spin < 100000; ++spin) sem_getvalue(&s_tokens, &left);
        // Then a pause of 0 to ~4 µs, so that the post lands anywhere in the
        // taker's wait, its timing out included.
        seed = seed * 1103515245u + 12345u;
        for (volatile unsigned k = (seed >> 16) % 4000; k > 0; --k) {
        }
    }
    atomic_store(&s_posting_done, 1);
    return NULL;
}

static void* take_tokens(void* unused) {
    (void)unused;
    for (;;) {
        const int done = atomic_load(&s_posting_done);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 2000;
        if (until.tv_nsec >= 1000000000) until.tv_sec += 1, until.tv_nsec -= 1000000000;
        if (sem_timedwait(&s_tokens, &until) == 0)
            ++s_tokens_taken;
        else if (done)
            return NULL;  // every token was posted before the wait began, and none was there
    }
}

static void race_tokens(void) {
    must(sem_init(&s_tokens, 0, 0), "sem_init");
    pthread_t poster, taker;
    must(pthread_create(&taker, NULL, take_tokens, NULL), "pthread_create");
    must(pthread_create(&poster, NULL, post_tokens, NULL), "pthread_create");
    join(poster);
    join(taker);
    int left = -1;
    sem_getvalue(&s_tokens, &left);
    check_int("sem: tokens taken by timed waits", s_tokens_taken, kTokens);
    check_int("sem: tokens left", left, 0);
}

int main(void) {
    watchdog(120);
    must(pthread_barrier_init(&s_phase, NULL, kThreads), "barrier_init");
    for (int i = 0; i < kThreads; ++i) must(sem_init(&s_ring[i], 0, 0), "sem_init");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536);
    static pthread_t threads[kThreads];
    for (long i = 0; i < kThreads; ++i) must(pthread_create(&threads[i], &attr, worker, (void*)i), "pthread_create");
    pthread_attr_destroy(&attr);
    for (int i = 0; i < kThreads; ++i) join(threads[i]);
    printf("threads: %d\n", kThreads);
    check_int("mutex: the counter", s_counter, (long)kThreads * kLocks);
    const long items = (long)kThreads / 2 * kItems;
    check_int("cond: items consumed", s_consumed, items);
    long want_sum = 0;
    for (long p = 0; p < kThreads; p += 2)
        for (long r = 0; r < kItems; ++r) want_sum += p * kItems + r;
    check_int("cond: the sum of what was produced", s_consumed_sum, want_sum);
    check_int("cond: left in the queue", s_count, 0);
    check_int("sem: laps of the ring", atomic_load(&s_laps), kLaps);
    check_int("barrier: serial threads", atomic_load(&s_serial), kBarriers);
    check_int("futex: the counter", s_futex_counter, (long)kThreads * kFutexLocks);
    check_int("rwlock: writes", s_rw_a, (long)(kThreads / 10) * kRw);
    check_int("rwlock: torn reads", atomic_load(&s_torn), 0);
    pthread_barrier_destroy(&s_phase);
    race_tokens();
    return finish();
}
