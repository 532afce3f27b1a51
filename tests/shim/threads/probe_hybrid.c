// Thread probe: a thread created inside a library (libprobe_realthread.so)
// shares a mutex, a condition variable, semaphores, a read-write lock and a
// barrier with the program's own threads, handing work back and forth many
// times. Under greenrun --threads with
// GREEN_THREADS_EXCLUDE=libprobe_realthread.so that thread is a real OS
// thread and the others are green: every wake-up crosses between the two
// kinds. Natively the variable means nothing; the output is the same.
// On stderr (not compared): "tasks: N", the process's OS threads while the
// library's thread and six of the program's are alive.
#include "probe_threads.h"

#include <sched.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

int probe_start_real_thread(pthread_t* t, void* (*fn)(void*), void* arg);
pthread_key_t probe_constructor_key(void);
int probe_constructor_key_destructions(void);

enum { kRounds = 300, kGreens = 6 };

static pthread_mutex_t s_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t s_rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t s_phase;  // the real thread and main, between phases
static pthread_barrier_t s_rounds;  // the real thread and two green threads
static sem_t s_ping, s_pong, s_release;
static int s_turn;                  // 0: real thread's turn, 1: green thread's
static int s_real_rounds, s_green_rounds;
static int s_counter, s_inside, s_overlaps;
static int s_sem_rounds;
static int s_released;
static int s_serial[10];
static int s_rw_rc;

static void phase(void) { pthread_barrier_wait(&s_phase); }

static void add_with_wait(void) {
    for (int i = 0; i < 20; ++i) {
        pthread_mutex_lock(&s_m);
        if (__atomic_add_fetch(&s_inside, 1, __ATOMIC_SEQ_CST) != 1) __atomic_add_fetch(&s_overlaps, 1, __ATOMIC_SEQ_CST);
        const int v = s_counter;
        usleep(200);
        s_counter = v + 1;
        __atomic_sub_fetch(&s_inside, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&s_m);
    }
}

static void barrier_rounds(void) {
    for (int r = 0; r < 10; ++r)
        if (pthread_barrier_wait(&s_rounds) == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&s_serial[r], 1, __ATOMIC_SEQ_CST);
}

static void* green_joined_by_real(void* p) {
    (void)p;
    sleep_ms(20);
    return (void*)17L;
}

// Binaries built against glibc before 2.3.3 push cancellation cleanup
// handlers through _pthread_cleanup_push_defer and pop them through
// _pthread_cleanup_pop_restore, which glibc 2.36 keeps under their old version
// only: referenced here as such a binary does. Returns how often the handler
// ran for a pop with `execute` 0, then 1 (expected: 1).
static void count_run(void* p) { ++*(int*)p; }

#if defined(__x86_64__)
void old_push_defer(struct _pthread_cleanup_buffer*, void (*)(void*), void*);
void old_pop_restore(struct _pthread_cleanup_buffer*, int);
__asm__(".symver old_push_defer, _pthread_cleanup_push_defer@GLIBC_2.2.5");
__asm__(".symver old_pop_restore, _pthread_cleanup_pop_restore@GLIBC_2.2.5");

static int old_style_cleanup_runs(void) {
    int runs = 0;
    struct _pthread_cleanup_buffer buffer;
    old_push_defer(&buffer, count_run, &runs);
    old_pop_restore(&buffer, 0);
    old_push_defer(&buffer, count_run, &runs);
    old_pop_restore(&buffer, 1);
    return runs;
}
#else
static int old_style_cleanup_runs(void) { return 1; }  // no old binaries to stand for
#endif

static int s_real_old_cleanup_runs;
static int s_real_is_its_own;  // the library's thread has a kernel thread of its own

static void* green_old_cleanup(void* p) {
    (void)p;
    return (void*)(long)old_style_cleanup_runs();
}

// The library's thread.
static void* real_main(void* p) {
    (void)p;
    s_real_is_its_own = syscall(SYS_gettid) != getpid();
    phase();  // 0: counted
    phase();  // 1: condition variable ping-pong
    for (int i = 0; i < kRounds; ++i) {
        pthread_mutex_lock(&s_m);
        while (s_turn != 0) pthread_cond_wait(&s_c, &s_m);
        ++s_real_rounds;
        s_turn = 1;
        pthread_cond_broadcast(&s_c);
        pthread_mutex_unlock(&s_m);
    }
    phase();  // 2: semaphore ping-pong
    for (int i = 0; i < kRounds; ++i) {
        sem_wait(&s_ping);
        ++s_sem_rounds;
        sem_post(&s_pong);
    }
    phase();  // 3: mutex contention
    add_with_wait();
    phase();  // 4: blocked in sem_wait while the green threads work
    sem_wait(&s_release);
    s_released = __atomic_load_n(&s_released, __ATOMIC_SEQ_CST) + 1;
    phase();  // 5: read-write lock held by the real thread
    pthread_rwlock_wrlock(&s_rw);
    phase();
    phase();  // a green thread timed out meanwhile
    sleep_ms(20);
    pthread_rwlock_unlock(&s_rw);
    phase();  // 6: barrier rounds
    barrier_rounds();
    phase();  // 7: join a green thread
    s_real_old_cleanup_runs = old_style_cleanup_runs();
    pthread_t g = spawn(green_joined_by_real, NULL);
    return join(g);
}

static void* green_waiting(void* p) {
    sem_wait(p);
    return NULL;
}

static void* green_ponger(void* p) {
    (void)p;
    for (int i = 0; i < kRounds; ++i) {
        pthread_mutex_lock(&s_m);
        while (s_turn != 1) pthread_cond_wait(&s_c, &s_m);
        ++s_green_rounds;
        s_turn = 0;
        pthread_cond_broadcast(&s_c);
        pthread_mutex_unlock(&s_m);
    }
    return NULL;
}

static void* green_sem(void* p) {
    (void)p;
    for (int i = 0; i < kRounds; ++i) {
        sem_post(&s_ping);
        sem_wait(&s_pong);
    }
    return NULL;
}

static void* green_adder(void* p) {
    (void)p;
    add_with_wait();
    return NULL;
}

static void* green_reader(void* p) {
    (void)p;
    const struct timespec ts = deadline(CLOCK_REALTIME, 0.05);
    s_rw_rc = pthread_rwlock_timedrdlock(&s_rw, &ts);
    if (s_rw_rc == 0) pthread_rwlock_unlock(&s_rw);
    return NULL;
}

static void* green_blocking_reader(void* p) {
    (void)p;
    const int rc = pthread_rwlock_rdlock(&s_rw);
    if (rc == 0) pthread_rwlock_unlock(&s_rw);
    return (void*)(long)rc;
}

static void* green_rounds(void* p) {
    (void)p;
    barrier_rounds();
    return NULL;
}

// A value of its own in the key the library made in its constructor.
static void* green_keeps_value(void* p) {
    (void)p;
    int mine;
    const pthread_key_t key = probe_constructor_key();
    const int empty = pthread_getspecific(key) == NULL;
    const int set = pthread_setspecific(key, &mine) == 0;
    sched_yield();
    return (void*)(long)(empty && set && pthread_getspecific(key) == &mine);
}

int main(void) {
    watchdog(30);
    sem_init(&s_ping, 0, 0);
    sem_init(&s_pong, 0, 0);
    sem_init(&s_release, 0, 0);
    pthread_barrier_init(&s_phase, NULL, 2);
    pthread_barrier_init(&s_rounds, NULL, 3);
    pthread_t real;
    must(probe_start_real_thread(&real, real_main, NULL), "probe_start_real_thread");

    // 0: every thread alive at once.
    sem_t hold;
    sem_init(&hold, 0, 0);
    pthread_t greens[kGreens];
    for (int i = 0; i < kGreens; ++i) greens[i] = spawn(green_waiting, &hold);
    sleep_ms(20);
    fprintf(stderr, "tasks: %d\n", count_tasks());
    for (int i = 0; i < kGreens; ++i) sem_post(&hold);
    for (int i = 0; i < kGreens; ++i) join(greens[i]);
    phase();

    phase();
    pthread_t t = spawn(green_ponger, NULL);
    join(t);
    check_int("condition variable ping-pong: rounds of the library's thread", s_real_rounds, kRounds);
    check_int("condition variable ping-pong: rounds of the program's thread", s_green_rounds, kRounds);

    phase();
    t = spawn(green_sem, NULL);
    join(t);
    check_int("semaphore ping-pong: rounds", s_sem_rounds, kRounds);

    phase();
    pthread_t adders[3];
    for (int i = 0; i < 3; ++i) adders[i] = spawn(green_adder, NULL);
    for (int i = 0; i < 3; ++i) join(adders[i]);

    phase();
    // The real thread waits in sem_wait; the program's threads keep working meanwhile.
    for (int i = 0; i < 3; ++i) adders[i] = spawn(green_adder, NULL);
    for (int i = 0; i < 3; ++i) join(adders[i]);
    check_int("mutex shared by both kinds: counter (the library's thread x 20, six others x 20)", s_counter, 140);
    check_int("mutex shared by both kinds: threads inside at once", s_overlaps, 0);
    check_int("the library's thread still waits in sem_wait", __atomic_load_n(&s_released, __ATOMIC_SEQ_CST), 0);
    sem_post(&s_release);

    phase();
    phase();  // it holds the write lock now
    t = spawn(green_reader, NULL);
    join(t);
    check_err("timedrdlock 50 ms while the library's thread writes", s_rw_rc, ETIMEDOUT);
    pthread_t blocked_reader = spawn(green_blocking_reader, NULL);
    phase();
    check_err("rdlock that waited for the library's thread to unlock", (int)(long)join(blocked_reader), 0);
    check_int("the library's thread got past sem_wait", s_released, 1);

    phase();
    pthread_t r1 = spawn(green_rounds, NULL), r2 = spawn(green_rounds, NULL);
    join(r1);
    join(r2);
    phase();  // the library's thread is past its rounds too
    int serial_ok = 1;
    for (int r = 0; r < 10; ++r) serial_ok = serial_ok && s_serial[r] == 1;
    check_yes("barrier of the library's thread and two others: one serial thread per round (10 rounds)", serial_ok);

    check_int("the library's thread joined a thread it created: value", (long)join(real), 17);
    check_yes("the library's thread has a kernel thread of its own", s_real_is_its_own);
    check_int("old binaries' _pthread_cleanup_push_defer/_pop_restore on the library's thread: handler runs",
              s_real_old_cleanup_runs, 1);
    check_int("old binaries' _pthread_cleanup_push_defer/_pop_restore on a program's thread: handler runs",
              (long)join(spawn(green_old_cleanup, NULL)), 1);

    pthread_t keepers[3];
    for (int i = 0; i < 3; ++i) keepers[i] = spawn(green_keeps_value, NULL);
    long own = 0;
    for (int i = 0; i < 3; ++i) own += (long)join(keepers[i]);
    check_int("key made in the library's constructor: threads that kept their own value", own, 3);
    check_int("key made in the library's constructor: destructor runs", probe_constructor_key_destructions(), 3);
    return finish();
}
